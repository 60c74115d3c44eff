// sha256-tree-v1 on the device: SHA-256 leaf hashes of an allocation in parallel (one thread per
// leaf), then the RFC 6962 tree reduced level by level, and only the 32-byte root copied back.
// Design notes and the expected H100 throughput are in cuda/README.md.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "check.cuh"
#include "vramseal/batch_layout.h"
#include "vramseal/sha256_portable.h"
#include "vramseal/staged_layout.h"

namespace vs {
namespace cuda {
namespace {

namespace sha = ::vs::sha256;

using staged::kThreads;
using staged::kVectorsPerThread;

__device__ void store_digest(const uint8_t digest[32], uint8_t* out) {
#pragma unroll
  for (int i = 0; i < 32; ++i) out[i] = digest[i];
}

// Hashes the full leaves [first_leaf, first_leaf + kThreads) of one range (those below
// full_leaves) into out[leaf * 32]: the work of one block of the staged kernel, shared by the
// single-range and the batched launches. All threads of the block call it (it has barriers).
__device__ __forceinline__ void staged_block(const uint4* __restrict__ data, uint64_t leaf_size,
                                             uint64_t full_leaves, uint64_t first_leaf,
                                             uint8_t* __restrict__ out) {
  __shared__ uint4 stage[kThreads * staged::kRowVectors];
  const uint64_t chunks = leaf_size / 64;
  const uint64_t vectors_per_leaf = leaf_size / 16;
  uint4 next[kVectorsPerThread];

  auto load_chunk = [&](uint64_t k) {
#pragma unroll
    for (unsigned j = 0; j < kVectorsPerThread; ++j) {
      const staged::Slot slot = staged::load_slot(threadIdx.x, j);
      next[j] = first_leaf + slot.leaf_in_block < full_leaves
                    ? data[staged::global_vector(first_leaf, slot, vectors_per_leaf, k)]
                    : make_uint4(0, 0, 0, 0);
    }
  };
  auto stage_chunk = [&]() {
#pragma unroll
    for (unsigned j = 0; j < kVectorsPerThread; ++j) {
      stage[staged::stage_index(staged::load_slot(threadIdx.x, j))] = next[j];
    }
  };

  uint32_t h[8];
  sha::init(h);
  uint8_t carry = sha::kLeafPrefix;
  load_chunk(0);
  stage_chunk();
  __syncthreads();
  for (uint64_t k = 0; k < chunks; ++k) {
    if (k + 1 < chunks) load_chunk(k + 1);
    uint32_t chunk[16], w[16];
#pragma unroll
    for (unsigned p = 0; p < 4; ++p) {
      const uint4 v = stage[staged::row_index(threadIdx.x, p)];
      chunk[4 * p] = v.x;
      chunk[4 * p + 1] = v.y;
      chunk[4 * p + 2] = v.z;
      chunk[4 * p + 3] = v.w;
    }
    carry = sha::block_words_from_chunk(carry, chunk, w);
    sha::compress(h, w);
    __syncthreads();  // everyone has read its row before the next chunk overwrites it
    if (k + 1 < chunks) stage_chunk();
    __syncthreads();
  }
  const uint64_t leaf = first_leaf + threadIdx.x;
  if (leaf < full_leaves) {
    uint8_t digest[32];
    sha::finish_prefixed(h, carry, nullptr, 0, leaf_size, digest);
    store_digest(digest, out + leaf * 32);
  }
}

// Leaf hashes of full leaves when leaf_size is a multiple of 64 and the data is 16-byte aligned.
//
// Staged transpose (DESIGN.md): at step k the block cooperatively loads the k-th 64-byte chunk of
// each of its leaves with 16-byte loads (four neighbouring threads read one leaf's 64 contiguous
// bytes, so every 32-byte sector fetched is used in full) into shared memory, then each thread
// compresses the chunk of its own leaf from its row. The next chunk is loaded into registers
// before the current one is compressed, so global loads are in flight during the compression.
__global__ void __launch_bounds__(kThreads)
    leaf_hashes_staged(const uint4* __restrict__ data, uint64_t leaf_size, uint64_t full_leaves,
                       uint8_t* __restrict__ out) {
  staged_block(data, leaf_size, full_leaves, uint64_t(blockIdx.x) * kThreads, out);
}

// Leaf hashes of leaves [first, leaf_count), one thread each, reading bytes straight from global
// memory: the short last leaf and leaf sizes that are not a multiple of 64. Correct for any size,
// slower than the staged path (uncoalesced), and only ever used for the remainder.
__global__ void leaf_hashes_generic(const uint8_t* __restrict__ data, uint64_t bytes,
                                    uint64_t leaf_size, uint64_t first, uint64_t leaf_count,
                                    uint8_t* __restrict__ out) {
  const uint64_t leaf = first + uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (leaf >= leaf_count) return;
  const uint64_t start = leaf * leaf_size;
  const uint64_t len = bytes - start < leaf_size ? bytes - start : leaf_size;
  uint8_t digest[32];
  sha::leaf_hash(data + start, len, digest);
  store_digest(digest, out + leaf * 32);
}

// One level of the RFC 6962 tree: node i = H(0x01 || in[2i] || in[2i+1]); an unpaired last node
// moves up unchanged. Reducing level by level this way gives the same root as RFC 6962's
// "largest power of two smaller than n" split.
__global__ void reduce_level(const uint8_t* __restrict__ in, uint64_t n,
                             uint8_t* __restrict__ out) {
  const uint64_t i = uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const uint64_t parents = (n + 1) / 2;
  if (i >= parents) return;
  uint8_t digest[32];
  if (2 * i + 1 < n) {
    sha::node_hash(in + 64 * i, in + 64 * i + 32, digest);
  } else {
    for (int b = 0; b < 32; ++b) digest[b] = in[64 * i + b];
  }
  store_digest(digest, out + 32 * i);
}

// ---- batched: several ranges, one launch per step (batch_layout.h) ---------------------------

// One block per kThreads full leaves of a stageable range; the block finds its range by its index.
__global__ void __launch_bounds__(kThreads)
    batch_leaf_hashes_staged(const batch::Item* __restrict__ items,
                             const uint64_t* __restrict__ starts, uint32_t count,
                             uint8_t* __restrict__ hashes) {
  const uint32_t k = batch::owner(starts, count, blockIdx.x);
  const batch::Item item = items[k];
  staged_block(reinterpret_cast<const uint4*>(item.data), item.leaf_size, item.staged_leaves,
               (uint64_t(blockIdx.x) - starts[k]) * kThreads, batch::row(hashes, item, 0));
}

// One thread per leaf the staged kernel did not take (short last leaves, unstageable ranges).
__global__ void batch_leaf_hashes_generic(const batch::Item* __restrict__ items,
                                          const uint64_t* __restrict__ starts, uint32_t count,
                                          uint64_t units, uint8_t* __restrict__ hashes) {
  const uint64_t unit = uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (unit >= units) return;
  const uint32_t k = batch::owner(starts, count, unit);
  const batch::Item item = items[k];
  batch::hash_leaf(item, item.staged_leaves + (unit - starts[k]), hashes);
}

// One thread per node of level + 1 of every range (a range at its root moves it up unchanged).
__global__ void batch_reduce_level(const batch::Item* __restrict__ items,
                                   const uint64_t* __restrict__ starts, uint32_t count,
                                   uint64_t units, unsigned level, const uint8_t* __restrict__ in,
                                   uint8_t* __restrict__ out) {
  const uint64_t unit = uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (unit >= units) return;
  const uint32_t k = batch::owner(starts, count, unit);
  batch::reduce_node(items[k], level, unit - starts[k], in, out);
}

// Every range's root (row first_hash of the last level's array) into roots[k * 32].
__global__ void batch_gather_roots(const batch::Item* __restrict__ items, uint32_t count,
                                   const uint8_t* __restrict__ hashes,
                                   uint8_t* __restrict__ roots) {
  const uint32_t k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= count) return;
  const uint8_t* root = batch::row(hashes, items[k], 0);
  for (int b = 0; b < 32; ++b) roots[k * 32 + b] = root[b];
}

unsigned blocks_for(uint64_t items, unsigned threads) {
  return static_cast<unsigned>((items + threads - 1) / threads);
}

// Scratch device memory. The success path frees it with release(), checked like every other
// CUDA call; the destructor only covers early returns from VS_CUDA_CHECK, where an error is
// already on its way to the caller and a second one from cudaFree would add nothing.
struct DeviceScratch {
  void* ptr = nullptr;
  cudaError_t release() {
    void* p = ptr;
    ptr = nullptr;
    return p == nullptr ? cudaSuccess : cudaFree(p);
  }
  ~DeviceScratch() { release(); }
};

}  // namespace

Status tree_digest(int device, const void* ptr, uint64_t bytes, uint64_t leaf_size,
                   uint8_t root[32]) {
  if (bytes == 0) {
    sha::empty_hash(root);
    return {};
  }
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  const uint64_t leaves = (bytes + leaf_size - 1) / leaf_size;
  const uint64_t full_leaves = bytes / leaf_size;
  DeviceScratch level_a, level_b;
  VS_CUDA_CHECK("cudaMalloc", cudaMalloc(&level_a.ptr, leaves * 32));
  VS_CUDA_CHECK("cudaMalloc", cudaMalloc(&level_b.ptr, ((leaves + 1) / 2) * 32));
  auto* a = static_cast<uint8_t*>(level_a.ptr);
  auto* b = static_cast<uint8_t*>(level_b.ptr);

  const bool aligned = reinterpret_cast<uintptr_t>(ptr) % 16 == 0;
  uint64_t generic_from = 0;
  if (aligned && leaf_size % 64 == 0 && full_leaves > 0) {
    leaf_hashes_staged<<<blocks_for(full_leaves, kThreads), kThreads>>>(
        static_cast<const uint4*>(ptr), leaf_size, full_leaves, a);
    VS_CUDA_CHECK("leaf_hashes_staged<<<>>>", cudaGetLastError());
    generic_from = full_leaves;
  }
  if (generic_from < leaves) {
    leaf_hashes_generic<<<blocks_for(leaves - generic_from, kThreads), kThreads>>>(
        static_cast<const uint8_t*>(ptr), bytes, leaf_size, generic_from, leaves, a);
    VS_CUDA_CHECK("leaf_hashes_generic<<<>>>", cudaGetLastError());
  }
  for (uint64_t n = leaves; n > 1; n = (n + 1) / 2) {
    reduce_level<<<blocks_for((n + 1) / 2, kThreads), kThreads>>>(a, n, b);
    VS_CUDA_CHECK("reduce_level<<<>>>", cudaGetLastError());
    uint8_t* t = a;
    a = b;
    b = t;
  }
  // cudaMemcpy waits for the kernels; an error raised while they ran surfaces here.
  VS_CUDA_CHECK("cudaMemcpy", cudaMemcpy(root, a, 32, cudaMemcpyDeviceToHost));
  VS_CUDA_CHECK("cudaFree", level_a.release());
  VS_CUDA_CHECK("cudaFree", level_b.release());
  return {};
}

Status tree_digest_many(int device, const DigestJob* jobs, uint32_t count, uint8_t* roots) {
  std::vector<batch::Range> ranges(count);
  for (uint32_t i = 0; i < count; ++i) ranges[i] = {jobs[i].ptr, jobs[i].bytes, jobs[i].leaf_size};
  const batch::Plan plan = batch::make_plan(ranges.data(), count);
  for (uint32_t i = 0; i < count; ++i) {
    if (jobs[i].bytes == 0) sha::empty_hash(roots + 32 * uint64_t(i));
  }
  const uint32_t n = static_cast<uint32_t>(plan.items.size());
  if (n == 0) return {};
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));

  // One upload of the table: items, then the staged, generic and level starts (all 8-byte words).
  const size_t item_bytes = sizeof(batch::Item) * n;
  const size_t starts = n * (2 + size_t(plan.levels));
  std::vector<uint8_t> table(item_bytes + starts * sizeof(uint64_t));
  std::memcpy(table.data(), plan.items.data(), item_bytes);
  auto* words = reinterpret_cast<uint64_t*>(table.data() + item_bytes);
  std::copy(plan.staged.begin(), plan.staged.end(), words);
  std::copy(plan.generic.begin(), plan.generic.end(), words + n);
  std::copy(plan.level_starts.begin(), plan.level_starts.end(), words + 2 * size_t(n));

  DeviceScratch table_d, level_a, level_b;
  VS_CUDA_CHECK("cudaMalloc", cudaMalloc(&table_d.ptr, table.size()));
  VS_CUDA_CHECK("cudaMalloc", cudaMalloc(&level_a.ptr, plan.hashes * 32));
  VS_CUDA_CHECK("cudaMalloc", cudaMalloc(&level_b.ptr, plan.hashes * 32));
  VS_CUDA_CHECK("cudaMemcpy",
                cudaMemcpy(table_d.ptr, table.data(), table.size(), cudaMemcpyHostToDevice));
  const auto* items = static_cast<const batch::Item*>(table_d.ptr);
  const auto* starts_d =
      reinterpret_cast<const uint64_t*>(static_cast<const uint8_t*>(table_d.ptr) + item_bytes);
  auto* a = static_cast<uint8_t*>(level_a.ptr);
  auto* b = static_cast<uint8_t*>(level_b.ptr);

  if (plan.staged_blocks > 0) {
    batch_leaf_hashes_staged<<<static_cast<unsigned>(plan.staged_blocks), kThreads>>>(
        items, starts_d, n, a);
    VS_CUDA_CHECK("batch_leaf_hashes_staged<<<>>>", cudaGetLastError());
  }
  if (plan.generic_leaves > 0) {
    batch_leaf_hashes_generic<<<blocks_for(plan.generic_leaves, kThreads), kThreads>>>(
        items, starts_d + n, n, plan.generic_leaves, a);
    VS_CUDA_CHECK("batch_leaf_hashes_generic<<<>>>", cudaGetLastError());
  }
  for (unsigned level = 0; level < plan.levels; ++level) {
    batch_reduce_level<<<blocks_for(plan.level_units[level], kThreads), kThreads>>>(
        items, starts_d + (2 + size_t(level)) * n, n, plan.level_units[level], level, a, b);
    VS_CUDA_CHECK("batch_reduce_level<<<>>>", cudaGetLastError());
    std::swap(a, b);
  }
  // The roots go to the other array's first rows (it has at least one row per range).
  batch_gather_roots<<<blocks_for(n, kThreads), kThreads>>>(items, n, a, b);
  VS_CUDA_CHECK("batch_gather_roots<<<>>>", cudaGetLastError());
  std::vector<uint8_t> gathered(size_t(n) * 32);
  // cudaMemcpy waits for the kernels; an error raised while they ran surfaces here.
  VS_CUDA_CHECK("cudaMemcpy",
                cudaMemcpy(gathered.data(), b, gathered.size(), cudaMemcpyDeviceToHost));
  for (uint32_t k = 0; k < n; ++k) {
    std::memcpy(roots + 32 * uint64_t(plan.index[k]), gathered.data() + 32 * size_t(k), 32);
  }
  VS_CUDA_CHECK("cudaFree", table_d.release());
  VS_CUDA_CHECK("cudaFree", level_a.release());
  VS_CUDA_CHECK("cudaFree", level_b.release());
  return {};
}

}  // namespace cuda
}  // namespace vs
