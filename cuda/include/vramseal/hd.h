// VS_HD marks code that compiles for both the host and the device.
//
// nvcc sees `__host__ __device__`; g++ sees nothing, so the same hashing core is compiled into the
// CUDA kernel and into the host unit tests that cross-check it against seal-crypto.
#pragma once

#if defined(__CUDACC__)
#define VS_HD __host__ __device__ __forceinline__
#else
#define VS_HD inline
#endif
