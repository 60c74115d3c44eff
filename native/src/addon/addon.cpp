// The thin N-API layer over the core: argument checks, conversion of vs::Error into JS errors
// with a stable `code`, and an AsyncWorker so tree digests run off the JS thread.
// Nothing here hands JavaScript a pointer or an address: allocations are opaque handles.
#include <napi.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "backend.h"
#include "bounds.h"
#include "error.h"
#include "host_hash.h"
#include "tree_digest.h"
#include "vramseal/cuda_api.h"

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1
// The most ranges one treeDigestMany call takes (a batch's table is uploaded in one piece).
constexpr uint32_t kMaxBatch = 65536;

#if defined(VRAMSEAL_CUDA_ARCHITECTURES)
constexpr const char* kCudaArchitectures = VRAMSEAL_CUDA_ARCHITECTURES;
#else
constexpr const char* kCudaArchitectures = "";
#endif

// A JS Error carrying the core's code, the argument it names and, for CUDA, the CUDA error name
// and operation. The TypeScript layer turns these into CudaFfiError / CudaError.
Napi::Error to_js_error(Napi::Env env, const vs::Error& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  err.Set("code", Napi::String::New(env, vs::code_name(e.code())));
  if (!e.argument().empty()) err.Set("argument", Napi::String::New(env, e.argument()));
  if (!e.cuda_name().empty()) err.Set("cudaError", Napi::String::New(env, e.cuda_name()));
  if (!e.operation().empty()) err.Set("operation", Napi::String::New(env, e.operation()));
  return err;
}

Napi::Error invalid_argument(Napi::Env env, const std::string& argument, const std::string& why) {
  return to_js_error(env, vs::Error(vs::Code::InvalidArgument, argument + " " + why, argument));
}

// Runs `body`, turning core errors (and allocation failures of the host) into JS exceptions.
template <typename Fn>
auto guarded(Napi::Env env, Fn&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const vs::Error& e) {
    throw to_js_error(env, e);
  } catch (const std::bad_alloc&) {
    throw to_js_error(env, vs::Error(vs::Code::InvalidArgument,
                                     "the host ran out of memory for this request"));
  }
}

// A non-negative integer no larger than 2^53 - 1.
uint64_t integer_value(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsNumber()) throw invalid_argument(env, name, "must be a number");
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || std::floor(v) != v || v < 0 || v > kMaxSafeInteger) {
    throw invalid_argument(env, name, "must be an integer between 0 and 2^53 - 1");
  }
  return static_cast<uint64_t>(v);
}

uint64_t integer_arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index) throw invalid_argument(info.Env(), name, "must be a number");
  return integer_value(info.Env(), info[index], name);
}

// An optional integer argument: absent or undefined gives nullopt, anything else as integer_arg.
std::optional<uint64_t> optional_integer_arg(const Napi::CallbackInfo& info, size_t index,
                                             const char* name) {
  if (info.Length() <= index || info[index].IsUndefined()) return std::nullopt;
  return integer_arg(info, index, name);
}

// Device indices may be any integer: negative ones are reported as INVALID_DEVICE by the core.
int64_t device_arg(const Napi::CallbackInfo& info, size_t index) {
  Napi::Env env = info.Env();
  if (info.Length() <= index || !info[index].IsNumber()) {
    throw invalid_argument(env, "device", "must be a number");
  }
  const double v = info[index].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || std::floor(v) != v || std::fabs(v) > kMaxSafeInteger) {
    throw invalid_argument(env, "device", "must be an integer device index");
  }
  return static_cast<int64_t>(v);
}

Napi::Uint8Array bytes_arg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (info.Length() <= index || !info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw invalid_argument(info.Env(), name, "must be a Uint8Array");
  }
  return info[index].As<Napi::Uint8Array>();
}

// A Buffer for `length` bytes read out of an allocation. V8 caps one Buffer (about 4 GiB on
// Node 20) and the host may lack the memory; either way the caller gets a coded error that says
// to read in pieces, rather than a bare RangeError.
Napi::Buffer<uint8_t> result_buffer(Napi::Env env, uint64_t length) {
  try {
    return Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(length));
  } catch (const Napi::Error& e) {
    throw invalid_argument(env, "length",
                           "of " + std::to_string(length) +
                               " bytes is more than one Buffer can hold here (" + e.Message() +
                               "); read the allocation in smaller pieces");
  }
}

const char* memory_type_name(vs::MemoryType type) {
  switch (type) {
    case vs::MemoryType::Device:
      return "device";
    case vs::MemoryType::Host:
      return "host";
    case vs::MemoryType::Managed:
      return "managed";
    case vs::MemoryType::Unregistered:
      return "unregistered";
  }
  return "unregistered";
}


// The ranges of treeDigestMany([{ handle, leafSize, offset?, length? }, ...]).
std::vector<vs::Backend::DigestRequest> digest_requests(Napi::Env env,
                                                        const Napi::Array& items) {
  if (items.Length() > kMaxBatch) {
    throw invalid_argument(env, "items",
                           "holds " + std::to_string(items.Length()) + " ranges; at most " +
                               std::to_string(kMaxBatch) + " fit one batch");
  }
  std::vector<vs::Backend::DigestRequest> requests;
  requests.reserve(items.Length());
  for (uint32_t i = 0; i < items.Length(); ++i) {
    const std::string name = "items[" + std::to_string(i) + "]";
    Napi::Value entry = items.Get(i);
    if (!entry.IsObject() || entry.IsArray()) {
      throw invalid_argument(env, name,
                             "must be an object { handle, leafSize, offset?, length? }");
    }
    Napi::Object item = entry.As<Napi::Object>();
    vs::Backend::DigestRequest request{};
    request.handle = integer_value(env, item.Get("handle"), name + ".handle");
    request.leaf_size = integer_value(env, item.Get("leafSize"), name + ".leafSize");
    Napi::Value offset = item.Get("offset");
    if (!offset.IsUndefined()) request.offset = integer_value(env, offset, name + ".offset");
    Napi::Value length = item.Get("length");
    if (!length.IsUndefined()) request.length = integer_value(env, length, name + ".length");
    requests.push_back(request);
  }
  return requests;
}

// Settles a worker's promise without ever letting a C++ exception escape. node-addon-api calls
// OnOK/OnError from a libuv completion callback; a Napi::Error thrown there (N-API refusing to
// create a value because memory ran out, or because the environment is shutting down: a
// worker_thread terminated or the process exiting while the work ran) would end in
// std::terminate. Instead the promise is rejected with that error; if even that is refused, the
// environment is gone and nobody is left to observe the promise.
template <typename Fn>
void settle(Napi::Promise::Deferred& deferred, Fn&& body) {
  try {
    body();
  } catch (const Napi::Error& e) {
    try {
      deferred.Reject(e.Value());
    } catch (const Napi::Error&) {
    }
  }
}

// Queues a worker and returns its promise. If queueing fails the worker is deleted, which
// releases its pin or lease: work that never ran must not leave a range busy.
template <typename Worker>
Napi::Promise queue(Worker* worker) {
  Napi::Promise promise = worker->promise();
  try {
    worker->Queue();
  } catch (...) {
    delete worker;
    throw;
  }
  return promise;
}

// Digest of a pinned allocation on a libuv worker thread; the promise settles on the JS thread.
class DigestWorker : public Napi::AsyncWorker {
 public:
  DigestWorker(Napi::Env env, vs::Backend::Pin pin, uint64_t leaf_size)
      : Napi::AsyncWorker(env, "vramseal:treeDigest"),
        deferred_(Napi::Promise::Deferred::New(env)),
        pin_(std::move(pin)),
        leaf_size_(leaf_size) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      root_ = pin_->tree_digest(leaf_size_);
    } catch (const vs::Error& e) {
      error_ = e;
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    pin_.reset();  // the range is writable again before anyone sees the result
    settle(deferred_, [&] {
      if (error_) {
        deferred_.Reject(to_js_error(Env(), *error_).Value());
      } else {
        deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(Env(), root_.data(), root_.size()));
      }
    });
  }

  void OnError(const Napi::Error& e) override {
    pin_.reset();
    settle(deferred_, [&] { deferred_.Reject(e.Value()); });
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::optional<vs::Backend::Pin> pin_;
  uint64_t leaf_size_;
  vs::Digest root_{};
  std::optional<vs::Error> error_;
};

// A batch of digests (treeDigestMany) on a libuv worker thread: every range was pinned on the JS
// thread; the promise resolves to one 32-byte Buffer per range, in request order.
class ManyDigestWorker : public Napi::AsyncWorker {
 public:
  ManyDigestWorker(Napi::Env env, vs::Backend::PinSet pins)
      : Napi::AsyncWorker(env, "vramseal:treeDigestMany"),
        deferred_(Napi::Promise::Deferred::New(env)),
        pins_(std::move(pins)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      roots_ = pins_->tree_digests();
    } catch (const vs::Error& e) {
      error_ = e;
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    pins_.reset();  // every range is writable again before anyone sees the result
    settle(deferred_, [&] {
      if (error_) {
        deferred_.Reject(to_js_error(Env(), *error_).Value());
        return;
      }
      Napi::Array out = Napi::Array::New(Env(), roots_.size());
      for (size_t i = 0; i < roots_.size(); ++i) {
        out.Set(static_cast<uint32_t>(i),
                Napi::Buffer<uint8_t>::Copy(Env(), roots_[i].data(), roots_[i].size()));
      }
      deferred_.Resolve(out);
    });
  }

  void OnError(const Napi::Error& e) override {
    pins_.reset();
    settle(deferred_, [&] { deferred_.Reject(e.Value()); });
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::optional<vs::Backend::PinSet> pins_;
  std::vector<vs::Digest> roots_;
  std::optional<vs::Error> error_;
};

// A host -> device copy on a libuv worker thread (writeAsync). The source must be a view of a
// SharedArrayBuffer: that memory cannot be detached or transferred away while the worker reads
// it (an ordinary ArrayBuffer could be, and the worker would then read freed memory), and the
// reference held here keeps it from being collected. The lease keeps the destination alive and
// its range registered as being written until the promise settles.
class WriteWorker : public Napi::AsyncWorker {
 public:
  WriteWorker(Napi::Env env, vs::Backend::WriteLease lease, Napi::Uint8Array source)
      : Napi::AsyncWorker(env, "vramseal:writeAsync"),
        deferred_(Napi::Promise::Deferred::New(env)),
        lease_(std::move(lease)),
        source_(Napi::Persistent(source)),
        data_(source.Data()) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      lease_->copy_from(data_);
    } catch (const vs::Error& e) {
      error_ = e;
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    lease_.reset();  // the range may be digested again before anyone sees the result
    source_.Reset();
    settle(deferred_, [&] {
      if (error_) {
        deferred_.Reject(to_js_error(Env(), *error_).Value());
      } else {
        deferred_.Resolve(Env().Undefined());
      }
    });
  }

  void OnError(const Napi::Error& e) override {
    lease_.reset();
    source_.Reset();
    settle(deferred_, [&] { deferred_.Reject(e.Value()); });
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::optional<vs::Backend::WriteLease> lease_;
  Napi::Reference<Napi::Uint8Array> source_;
  const uint8_t* data_;
  std::optional<vs::Error> error_;
};

// new NativeBackend('mock', { devices: [{ name, totalBytes }], digestThreads? })
// new NativeBackend('cuda', { allowFaultInjection? })
class NativeBackend : public Napi::ObjectWrap<NativeBackend> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeBackend",
                       {
                           InstanceMethod<&NativeBackend::Kind>("kind"),
                           InstanceMethod<&NativeBackend::DeviceCount>("deviceCount"),
                           InstanceMethod<&NativeBackend::DeviceInfo>("deviceInfo"),
                           InstanceMethod<&NativeBackend::MemInfo>("memInfo"),
                           InstanceMethod<&NativeBackend::Allocate>("allocate"),
                           InstanceMethod<&NativeBackend::Free>("free"),
                           InstanceMethod<&NativeBackend::Write>("write"),
                           InstanceMethod<&NativeBackend::WriteAsync>("writeAsync"),
                           InstanceMethod<&NativeBackend::Read>("read"),
                           InstanceMethod<&NativeBackend::Attributes>("attributes"),
                           InstanceMethod<&NativeBackend::Corrupt>("corrupt"),
                           InstanceMethod<&NativeBackend::FailNextAllocation>("failNextAllocation"),
                           InstanceMethod<&NativeBackend::TreeDigest>("treeDigest"),
                           InstanceMethod<&NativeBackend::TreeDigestMany>("treeDigestMany"),
                           InstanceMethod<&NativeBackend::LiveAllocations>("liveAllocations"),
                           InstanceMethod<&NativeBackend::FaultInjection>("faultInjection"),
                           InstanceMethod<&NativeBackend::BenchTreeDigest>("benchTreeDigest"),
                           InstanceMethod<&NativeBackend::BenchWrite>("benchWrite"),
                           InstanceMethod<&NativeBackend::BenchDeviceCopy>("benchDeviceCopy"),
                           InstanceMethod<&NativeBackend::BenchTreeDigestMany>(
                               "benchTreeDigestMany"),
                       });
  }

  explicit NativeBackend(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeBackend>(info) {
    Napi::Env env = info.Env();
    const std::string kind = info.Length() > 0 && info[0].IsString()
                                 ? info[0].As<Napi::String>().Utf8Value()
                                 : std::string();
    if (kind == "cuda") {
      const bool allow_fault_injection = cuda_options(info);
      backend_ = guarded(env, [&] { return vs::Backend::cuda(allow_fault_injection); });
    } else if (kind == "mock") {
      backend_ = guarded(env, [&] { return make_mock(info); });
    } else {
      throw invalid_argument(env, "kind", "must be 'mock' or 'cuda'");
    }
  }

 private:
  // allowFaultInjection of new NativeBackend('cuda', options?): false unless options says true.
  // Checked before any CUDA call, so a bad option is INVALID_ARGUMENT on every machine.
  static bool cuda_options(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || info[1].IsUndefined()) return false;
    if (!info[1].IsObject() || info[1].IsArray()) {
      throw invalid_argument(env, "options",
                             "must be an object such as { allowFaultInjection: true }");
    }
    Napi::Value allow = info[1].As<Napi::Object>().Get("allowFaultInjection");
    if (allow.IsUndefined()) return false;
    if (!allow.IsBoolean()) throw invalid_argument(env, "allowFaultInjection", "must be a boolean");
    return allow.As<Napi::Boolean>().Value();
  }

  static std::unique_ptr<vs::Backend> make_mock(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[1].IsObject()) {
      throw invalid_argument(env, "options", "must be an object with a devices array");
    }
    Napi::Object options = info[1].As<Napi::Object>();
    Napi::Value devices = options.Get("devices");
    if (!devices.IsArray()) throw invalid_argument(env, "devices", "must be an array");
    Napi::Array list = devices.As<Napi::Array>();
    std::vector<vs::MockDeviceConfig> configs;
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value entry = list.Get(i);
      if (!entry.IsObject()) throw invalid_argument(env, "devices", "entries must be objects");
      Napi::Object device = entry.As<Napi::Object>();
      Napi::Value name = device.Get("name");
      Napi::Value total = device.Get("totalBytes");
      if (!name.IsString()) throw invalid_argument(env, "name", "must be a string");
      if (!total.IsNumber()) throw invalid_argument(env, "totalBytes", "must be a number");
      const double bytes = total.As<Napi::Number>().DoubleValue();
      if (!std::isfinite(bytes) || std::floor(bytes) != bytes || bytes < 1 ||
          bytes > kMaxSafeInteger) {
        throw invalid_argument(env, "totalBytes", "must be an integer between 1 and 2^53 - 1");
      }
      configs.push_back({name.As<Napi::String>().Utf8Value(), static_cast<uint64_t>(bytes)});
    }
    unsigned threads = vs::default_thread_count();
    Napi::Value requested = options.Get("digestThreads");
    if (requested.IsNumber()) {
      const double t = requested.As<Napi::Number>().DoubleValue();
      if (!std::isfinite(t) || std::floor(t) != t || t < 1 || t > 1024) {
        throw invalid_argument(env, "digestThreads", "must be an integer between 1 and 1024");
      }
      threads = static_cast<unsigned>(t);
    }
    return vs::Backend::mock(configs, {vs::openssl_hasher(), threads});
  }

  Napi::Value Kind(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), backend_->kind());
  }

  Napi::Value DeviceCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), backend_->device_count());
  }

  Napi::Value DeviceInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const vs::DeviceInfo d = guarded(env, [&] { return backend_->device_info(device_arg(info, 0)); });
    Napi::Object out = Napi::Object::New(env);
    out.Set("name", d.name);
    out.Set("uuid", d.uuid);
    out.Set("totalBytes", Napi::Number::New(env, static_cast<double>(d.total_bytes)));
    out.Set("computeCapability",
            std::to_string(d.compute_major) + "." + std::to_string(d.compute_minor));
    out.Set("integrated", d.integrated);
    out.Set("managedMemory", d.managed_memory);
    out.Set("unifiedAddressing", d.unified_addressing);
    out.Set("pageableMemoryAccess", d.pageable_memory_access);
    out.Set("multiProcessorCount", d.multiprocessor_count);
    return out;
  }

  Napi::Value MemInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const vs::MemInfo m = guarded(env, [&] { return backend_->mem_info(device_arg(info, 0)); });
    Napi::Object out = Napi::Object::New(env);
    out.Set("freeBytes", Napi::Number::New(env, static_cast<double>(m.free_bytes)));
    out.Set("totalBytes", Napi::Number::New(env, static_cast<double>(m.total_bytes)));
    return out;
  }

  Napi::Value Allocate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const int64_t device = device_arg(info, 0);
    const uint64_t bytes = integer_arg(info, 1, "bytes");
    const uint64_t handle = guarded(env, [&] { return backend_->allocate(device, bytes); });
    return Napi::Number::New(env, static_cast<double>(handle));
  }

  Napi::Value Free(const Napi::CallbackInfo& info) {
    const uint64_t handle = integer_arg(info, 0, "handle");
    guarded(info.Env(), [&] { backend_->free(handle); });
    return info.Env().Undefined();
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    const uint64_t handle = integer_arg(info, 0, "handle");
    const uint64_t offset = integer_arg(info, 1, "offset");
    Napi::Uint8Array data = bytes_arg(info, 2, "data");
    guarded(info.Env(),
            [&] { backend_->write(handle, offset, data.Data(), data.ElementLength()); });
    return info.Env().Undefined();
  }

  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint64_t handle = integer_arg(info, 0, "handle");
    const uint64_t offset = integer_arg(info, 1, "offset");
    const uint64_t length = integer_arg(info, 2, "length");
    // Validate before allocating the result, so a bad request costs nothing.
    guarded(env, [&] { vs::check_range(offset, length, backend_->size_of(handle)); });
    Napi::Buffer<uint8_t> out = result_buffer(env, length);
    guarded(env, [&] { backend_->read(handle, offset, out.Data(), length); });
    return out;
  }

  Napi::Value Attributes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint64_t handle = integer_arg(info, 0, "handle");
    const vs::PointerAttributes a = guarded(env, [&] { return backend_->attributes(handle); });
    Napi::Object out = Napi::Object::New(env);
    out.Set("memoryType", memory_type_name(a.type));
    out.Set("hostPointer", a.host_pointer);
    return out;
  }

  Napi::Value Corrupt(const Napi::CallbackInfo& info) {
    const uint64_t handle = integer_arg(info, 0, "handle");
    const uint64_t offset = integer_arg(info, 1, "offset");
    const uint64_t mask = integer_arg(info, 2, "xorMask");
    if (mask < 1 || mask > 255) {
      throw invalid_argument(info.Env(), "xorMask", "must be an integer between 1 and 255");
    }
    guarded(info.Env(), [&] { backend_->corrupt(handle, offset, static_cast<uint8_t>(mask)); });
    return info.Env().Undefined();
  }

  Napi::Value FailNextAllocation(const Napi::CallbackInfo& info) {
    const int64_t device = device_arg(info, 0);
    guarded(info.Env(), [&] { backend_->fail_next_allocation(device); });
    return info.Env().Undefined();
  }

  // treeDigest(handle, leafSize, offset = 0, length = bytes - offset)
  Napi::Value WriteAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint64_t handle = integer_arg(info, 0, "handle");
    const uint64_t offset = integer_arg(info, 1, "offset");
    Napi::Uint8Array data = bytes_arg(info, 2, "data");
    if (data.ArrayBuffer().IsArrayBuffer()) {
      throw invalid_argument(env, "data",
                             "must be a view of a SharedArrayBuffer for writeAsync (an ordinary "
                             "ArrayBuffer could be detached while the copy runs); use write()");
    }
    vs::Backend::WriteLease lease =
        guarded(env, [&] { return backend_->lease_write(handle, offset, data.ElementLength()); });
    return queue(new WriteWorker(env, std::move(lease), data));
  }

  Napi::Value TreeDigest(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint64_t handle = integer_arg(info, 0, "handle");
    const uint64_t leaf_size = integer_arg(info, 1, "leafSize");
    const uint64_t offset = optional_integer_arg(info, 2, "offset").value_or(0);
    const std::optional<uint64_t> length = optional_integer_arg(info, 3, "length");
    guarded(env, [&] {
      vs::check_leaf_size(leaf_size);
      vs::check_digest_offset(offset, leaf_size);
    });
    // The pin is taken here, on the JS thread, before the worker is queued: from now until the
    // promise settles the range cannot be written (writes elsewhere can), and free() cannot
    // release the memory.
    vs::Backend::Pin pin = guarded(env, [&] { return backend_->pin(handle, offset, length); });
    return queue(new DigestWorker(env, std::move(pin), leaf_size));
  }

  // treeDigestMany([{ handle, leafSize, offset?, length? }, ...]): every range is checked and
  // pinned here, on the JS thread (the first refusal throws, naming items[i]), then one worker
  // digests them all: one batch of device work per device.
  Napi::Value TreeDigestMany(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) {
      throw invalid_argument(env, "items",
                             "must be an array of { handle, leafSize, offset?, length? }");
    }
    const std::vector<vs::Backend::DigestRequest> requests =
        digest_requests(env, info[0].As<Napi::Array>());
    vs::Backend::PinSet pins = guarded(env, [&] { return backend_->pin_many(requests); });
    return queue(new ManyDigestWorker(env, std::move(pins)));
  }

  Napi::Value LiveAllocations(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(backend_->live_allocations()));
  }

  Napi::Value FaultInjection(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), backend_->fault_injection());
  }

  // ---- bench:gpu hooks (not API: scripts/gpu/checks/bench.mjs) ----------------------------
  // Device time in milliseconds from CUDA events, synchronously on the JS thread (a benchmark
  // waits anyway). The same checks as the operations they time; UNSUPPORTED on the mock.

  // benchTreeDigest(handle, leafSize, offset = 0, length = to the end) -> { ms, root }
  Napi::Value BenchTreeDigest(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint64_t handle = integer_arg(info, 0, "handle");
    const uint64_t leaf_size = integer_arg(info, 1, "leafSize");
    const uint64_t offset = optional_integer_arg(info, 2, "offset").value_or(0);
    const std::optional<uint64_t> length = optional_integer_arg(info, 3, "length");
    vs::Digest root{};
    const float ms = guarded(env, [&] {
      vs::check_leaf_size(leaf_size);
      vs::check_digest_offset(offset, leaf_size);
      const vs::Backend::Pin pin = backend_->pin(handle, offset, length);
      return pin.timed_tree_digest(leaf_size, &root);
    });
    Napi::Object out = Napi::Object::New(env);
    out.Set("ms", Napi::Number::New(env, ms));
    out.Set("root", Napi::Buffer<uint8_t>::Copy(env, root.data(), root.size()));
    return out;
  }

  // benchWrite(handle, offset, data, 'pageable' | 'staged' | 'pinned') -> ms
  Napi::Value BenchWrite(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint64_t handle = integer_arg(info, 0, "handle");
    const uint64_t offset = integer_arg(info, 1, "offset");
    Napi::Uint8Array data = bytes_arg(info, 2, "data");
    const std::string source =
        info.Length() > 3 && info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "";
    if (source != "pageable" && source != "staged" && source != "pinned") {
      throw invalid_argument(env, "source", "must be 'pageable', 'staged' or 'pinned'");
    }
    const vs::CopySource how = source == "pinned"   ? vs::CopySource::Pinned
                               : source == "staged" ? vs::CopySource::Staged
                                                    : vs::CopySource::Pageable;
    const float ms = guarded(env, [&] {
      return backend_->bench_write(handle, offset, data.Data(), data.ElementLength(), how);
    });
    return Napi::Number::New(env, ms);
  }

  // benchTreeDigestMany([{ handle, leafSize, offset?, length? }, ...]) -> { ms, roots }
  Napi::Value BenchTreeDigestMany(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) {
      throw invalid_argument(env, "items",
                             "must be an array of { handle, leafSize, offset?, length? }");
    }
    const std::vector<vs::Backend::DigestRequest> requests =
        digest_requests(env, info[0].As<Napi::Array>());
    std::vector<vs::Digest> roots;
    const float ms = guarded(env, [&] {
      const vs::Backend::PinSet pins = backend_->pin_many(requests);
      return pins.timed_tree_digests(&roots);
    });
    Napi::Array out = Napi::Array::New(env, roots.size());
    for (size_t i = 0; i < roots.size(); ++i) {
      out.Set(static_cast<uint32_t>(i),
              Napi::Buffer<uint8_t>::Copy(env, roots[i].data(), roots[i].size()));
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("ms", Napi::Number::New(env, ms));
    result.Set("roots", out);
    return result;
  }

  // benchDeviceCopy(handle) -> ms of a device-to-device copy of the whole allocation
  Napi::Value BenchDeviceCopy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint64_t handle = integer_arg(info, 0, "handle");
    const float ms = guarded(env, [&] { return backend_->bench_device_copy(handle); });
    return Napi::Number::New(env, ms);
  }

  std::unique_ptr<vs::Backend> backend_;
};

// What this addon was built with and why no CUDA device answered (if none did).
Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("builtWithCuda", vs::cuda::built_with_cuda());
  out.Set("cudaArchitectures", kCudaArchitectures);
  // Versions are informational: a failed query (no CUDA, no driver) reads as 0.
  int runtime = 0, driver = 0;
  vs::cuda::runtime_version(&runtime);
  vs::cuda::driver_version(&driver);
  out.Set("cudaRuntimeVersion", runtime);
  out.Set("cudaDriverVersion", driver);
  int count = 0;
  const vs::cuda::Status probe = vs::cuda::device_count(&count);
  out.Set("cudaDeviceCount", count);
  if (!probe.ok()) {
    Napi::Object why = Napi::Object::New(env);
    why.Set("error", probe.name);
    why.Set("operation", probe.operation);
    why.Set("message", probe.message);
    out.Set("cudaUnavailable", why);
  } else if (count == 0) {
    Napi::Object why = Napi::Object::New(env);
    why.Set("error", "cudaErrorNoDevice");
    why.Set("operation", "cudaGetDeviceCount");
    why.Set("message", "cudaGetDeviceCount answered 0 devices");
    out.Set("cudaUnavailable", why);
  }
  out.Set("hostHasher", vs::openssl_hasher().name);
  out.Set("hostThreads", vs::default_thread_count());
  out.Set("napiVersion", NAPI_VERSION);
  return out;
}

// Test hook (not public API): sha256-tree-v1 of a buffer with the portable __host__ __device__
// core that the CUDA kernel runs, compiled by the host compiler, on one thread.
Napi::Value PortableTreeDigest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array data = bytes_arg(info, 0, "data");
  const uint64_t leaf_size = integer_arg(info, 1, "leafSize");
  const vs::Digest root = guarded(env, [&] {
    return vs::tree_digest(data.Data(), data.ElementLength(), leaf_size, vs::portable_hasher(), 1);
  });
  return Napi::Buffer<uint8_t>::Copy(env, root.data(), root.size());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeBackend", NativeBackend::Define(env));
  exports.Set("backendInfo", Napi::Function::New<BackendInfo>(env, "backendInfo"));
  exports.Set("portableTreeDigest",
              Napi::Function::New<PortableTreeDigest>(env, "portableTreeDigest"));
  return exports;
}

}  // namespace

NODE_API_MODULE(vramseal_native, Init)
