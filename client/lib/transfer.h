// Constants and callback types shared by the upload and download pipelines.
// Stateless; thread-safe.
#ifndef MODELVAULT_CLIENT_LIB_TRANSFER_H_
#define MODELVAULT_CLIENT_LIB_TRANSFER_H_

#include <cstddef>
#include <cstdint>
#include <functional>

namespace mvclient {

// The protocol caps data messages at 1 MiB (artifact.proto).
inline constexpr size_t kMaxChunkBytes = size_t{1} << 20;

// Buffers in flight between the gRPC thread and the file/hash thread. Four
// is enough to hide a slow read or write behind the network without letting
// memory grow with the artifact.
inline constexpr size_t kPipelineDepth = 4;

// Called on the thread that started the transfer after each message moves.
// `total` is 0 when unknown (stdin pushes before the end).
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// Aborts the RPC in flight (ClientContext::TryCancel in production); used
// when the local side fails so the peer neither waits nor commits.
using CancelFn = std::function<void()>;

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_TRANSFER_H_
