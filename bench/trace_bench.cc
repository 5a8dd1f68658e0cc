// Leak-tracing costs at the core (no gRPC), issue [trace]:
//   - ingest: uploading a float safetensors model (the mark table is built
//     while it streams in) next to uploading the same bytes as a blob;
//   - delivery: reading a version back marked for a download id next to
//     reading it unmarked (the server's pull path minus gRPC);
//   - tracing, per tier: tier 0 (the original's bytes: found by hash),
//     then TraceLeak of one marked copy against a version with --downloads
//     logged downloads (default 10,000), plus the decoys, found by search
//     and told; and the same copy with the rows of every tensor permuted
//     (hidden units), which only alignment by content (trace/align.h) can
//     read: told, and found by search (which falls back to alignment).
//
//   trace_bench [--size-mib N] [--downloads J]
//
// Numbers are ratios against the same run's unmarked paths; never a gate.
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "trace/sealed_spool.h"
#include "vault/vault.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMiB = 1 << 20;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] void Die(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n", what,
               std::string(status.ToString()).c_str());
  std::exit(1);
}

// A safetensors file of F32 tensors "layers.N.mlp.weight" [rows, 4096] of
// roughly Gaussian weights (σ = 0.02), `size_mib` MiB of tensor data.
std::string SyntheticModel(size_t size_mib) {
  const size_t cols = 4096, rows = 4096;  // 64 MiB per tensor
  const size_t tensor_bytes = rows * cols * 4;
  const size_t tensors = std::max<size_t>(1, size_mib * kMiB / tensor_bytes);
  std::string header = "{";
  for (size_t t = 0; t < tensors; ++t) {
    header += absl::StrFormat(
        R"(%s"layers.%d.mlp.weight":{"dtype":"F32","shape":[%d,%d],"data_offsets":[%d,%d]})",
        t == 0 ? "" : ",", t, rows, cols, t * tensor_bytes,
        (t + 1) * tensor_bytes);
  }
  header += "}";
  std::string file(8, '\0');
  uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);  // little-endian host
  file += header;
  const size_t data_at = file.size();
  file.resize(data_at + tensors * tensor_bytes);
  std::mt19937_64 rng(42);
  std::normal_distribution<float> weight(0.0f, 0.02f);
  float* out = reinterpret_cast<float*>(file.data() + data_at);
  for (size_t i = 0; i < tensors * rows * cols; ++i) out[i] = weight(rng);
  return file;
}

// `file` (SyntheticModel's layout) with the rows of every tensor in a
// random order of their own: hidden units permuted.
std::string PermuteRows(const std::string& file) {
  const size_t cols = 4096, rows = 4096, row_bytes = cols * 4;
  uint64_t header = 0;
  std::memcpy(&header, file.data(), 8);  // little-endian host
  const size_t data_at = 8 + header;
  std::string out = file;
  std::mt19937_64 rng(7);
  std::vector<size_t> order(rows);
  for (size_t at = data_at; at + rows * row_bytes <= file.size();
       at += rows * row_bytes) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t r = 0; r < rows; ++r) {
      std::memcpy(&out[at + r * row_bytes], &file[at + order[r] * row_bytes],
                  row_bytes);
    }
  }
  return out;
}

double Upload(mv::Vault& vault, const mv::Principal& root,
              const std::string& bytes, const std::string& name,
              mv::UploadSpec::As as, mv::VersionInfo* info) {
  mv::UploadSpec spec;
  spec.name = name;
  spec.expected_size = bytes.size();
  spec.store_as = as;
  auto t0 = Clock::now();
  auto writer = vault.catalog().BeginUpload(spec, root);
  if (!writer.ok()) Die("begin upload", writer.status());
  for (size_t at = 0; at < bytes.size(); at += kMiB) {
    std::string piece = bytes.substr(at, kMiB);
    if (absl::Status s = (*writer)->AppendOwned(std::move(piece)); !s.ok())
      Die("append", s);
  }
  auto committed = (*writer)->Commit("");
  if (!committed.ok()) Die("commit", committed.status());
  *info = *committed;
  return Seconds(t0);
}

// Reads a whole version through OpenDownload; returns seconds, fills *out.
double ReadBack(const mv::Vault& vault, const std::string& ref,
                const mv::DeliveryOptions& options, std::string* out) {
  out->clear();
  out->reserve(vault.catalog().GetVersion(ref)->size);
  auto t0 = Clock::now();
  auto reader = vault.catalog().OpenDownload(ref, 0, 0, options);
  if (!reader.ok()) Die("open download", reader.status());
  std::string piece;
  for (;;) {
    auto more = (*reader)->Next(&piece);
    if (!more.ok()) Die("read", more.status());
    if (!*more) break;
    out->append(piece);
  }
  (void)(*reader)
      ->DeliveredSha256();  // the trailer's digest is part of the cost
  return Seconds(t0);
}

}  // namespace

int main(int argc, char** argv) {
  size_t size_mib = 1024, downloads = 10'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--size-mib") == 0)
      size_mib = std::stoul(argv[i + 1]);
    if (std::strcmp(argv[i], "--downloads") == 0)
      downloads = std::stoul(argv[i + 1]);
  }
  if (sodium_init() < 0) return 1;
  const std::string dir = std::filesystem::temp_directory_path() /
                          ("mvtracebench-" + std::to_string(getpid()));
  mv::VaultOptions options;
  std::filesystem::create_directories(dir);
  options.data_dir = dir + "/data";
  options.audit.witness_path = dir + "/witness";
  auto kek = mv::SecretKey::Random();
  if (!kek.ok()) Die("key", kek.status());
  auto kek_copy = mv::SecretKey::FromBytes(kek->span());
  auto root_token = mv::Vault::Init(options, std::move(*kek));
  if (!root_token.ok()) Die("init", root_token.status());
  auto vault = mv::Vault::Open(options, std::move(*kek_copy));
  if (!vault.ok()) Die("open", vault.status());
  const std::string authorization = "Bearer " + *root_token;
  auto root =
      (*vault)->identity().Authenticate(std::string_view(authorization));
  if (!root.ok()) Die("authenticate", root.status());
  mv::AccessRequest read_request;
  read_request.artifact = "bench/model";
  auto decision = (*vault)->identity().Authorize(*root, read_request);
  if (!decision.ok()) Die("authorize", decision.status());

  std::printf("building a %zu MiB synthetic F32 safetensors model...\n",
              size_mib);
  const std::string model = SyntheticModel(size_mib);
  const double mib = model.size() / double(kMiB);

  mv::VersionInfo blob, marked;
  double blob_s = Upload(**vault, *root, model, "bench/blob",
                         mv::UploadSpec::As::kBlob, &blob);
  double ingest_s = Upload(**vault, *root, model, "bench/model",
                           mv::UploadSpec::As::kDetect, &marked);
  if (!marked.fingerprint.markable()) {
    std::fprintf(stderr, "model was not markable: %s\n",
                 marked.fingerprint.unmarked_reason.c_str());
    return 1;
  }

  // Both reads land in the same (already touched) buffer: a VM's first touch
  // of fresh memory would otherwise be charged to whichever read came second.
  std::string copy;
  double unmarked_s = ReadBack(**vault, marked.Ref(), {.exact = true}, &copy);
  unmarked_s = std::min(
      unmarked_s, ReadBack(**vault, marked.Ref(), {.exact = true}, &copy));
  const uint64_t leaker_id = 0x5eed'0000'0000'0000ull + downloads / 2;
  const mv::DeliveryOptions fingerprinted{.fingerprint = true,
                                          .download_id = leaker_id};
  double marked_s = ReadBack(**vault, marked.Ref(), fingerprinted, &copy);
  marked_s =
      std::min(marked_s, ReadBack(**vault, marked.Ref(), fingerprinted, &copy));

  // The logged downloads: the leaker among `downloads` principals.
  auto t0 = Clock::now();
  for (size_t j = 0; j < downloads; ++j) {
    mv::DownloadRecord record;
    record.serial = marked.serial;
    record.download_id = 0x5eed'0000'0000'0000ull + j;
    record.principal = absl::StrFormat("user-%05d", j);
    record.started_unix_ms = 1'790'000'000'000 + static_cast<int64_t>(j);
    record.peer = "ipv4:127.0.0.1:5000";
    record.delivery = mv::Delivery::kFingerprinted;
    if (absl::Status s = (*vault)->downloads().StartDownload(
            *root, *decision, 0, record, nullptr);
        !s.ok()) {
      Die("start download", s);
    }
  }
  double index_s = Seconds(t0);

  const mv::TraceScope everything =
      (*vault)->tracer().TraceScopeFor(mv::RootCaller(), "", "");
  t0 = Clock::now();
  auto report = (*vault)->tracer().TraceLeak(copy, "", everything);
  double trace_s = Seconds(t0);
  if (!report.ok()) Die("trace", report.status());
  t0 = Clock::now();
  auto told = (*vault)->tracer().TraceLeak(copy, marked.Ref(), everything);
  double trace_told_s = Seconds(t0);
  if (!told.ok()) Die("trace", told.status());

  // The server's path: the file spooled sealed to disk, read back by range.
  t0 = Clock::now();
  auto spool = mv::SealedSpool::Create(dir, copy.size());
  if (!spool.ok()) Die("spool", spool.status());
  for (size_t at = 0; at < copy.size(); at += 1 << 20) {
    if (absl::Status s =
            (*spool)->Append(std::string_view(copy).substr(at, 1 << 20));
        !s.ok()) {
      Die("spool", s);
    }
  }
  if (absl::Status s = (*spool)->Finish(); !s.ok()) Die("spool", s);
  double spool_s = Seconds(t0);
  t0 = Clock::now();
  auto spooled =
      (*vault)->tracer().TraceLeak(**spool, marked.Ref(), everything);
  double trace_spooled_s = Seconds(t0);
  if (!spooled.ok()) Die("trace", spooled.status());

  // Tier 0: the original's bytes, found by their hash.
  t0 = Clock::now();
  auto original = (*vault)->tracer().TraceLeak(model, "", everything);
  double trace_original_s = Seconds(t0);
  if (!original.ok()) Die("trace", original.status());

  // With alignment: every tensor's rows (hidden units) permuted.
  const std::string permuted = PermuteRows(copy);
  t0 = Clock::now();
  auto aligned_told =
      (*vault)->tracer().TraceLeak(permuted, marked.Ref(), everything);
  double trace_aligned_told_s = Seconds(t0);
  if (!aligned_told.ok()) Die("trace", aligned_told.status());
  t0 = Clock::now();
  auto aligned_search = (*vault)->tracer().TraceLeak(permuted, "", everything);
  double trace_aligned_search_s = Seconds(t0);
  if (!aligned_search.ok()) Die("trace", aligned_search.status());
  size_t tensors_aligned = 0;
  for (const auto& t : aligned_told->tensors)
    tensors_aligned += t.match.alignment.axis != mv::AlignedAxis::kNone;

  auto names_leaker = [&](const mv::LeakReport& r) {
    return !r.candidates.empty() &&
           r.candidates[0].download.download_id == leaker_id &&
           r.verdict == mv::Verdict::kAttributed;
  };
  // The permuted leak on the server's path (spooled sealed, read by range).
  auto permuted_spool = mv::SealedSpool::Create(dir, permuted.size());
  if (!permuted_spool.ok()) Die("spool", permuted_spool.status());
  for (size_t at = 0; at < permuted.size(); at += 1 << 20) {
    if (absl::Status s =
            (*permuted_spool)
                ->Append(std::string_view(permuted).substr(at, 1 << 20));
        !s.ok()) {
      Die("spool", s);
    }
  }
  if (absl::Status s = (*permuted_spool)->Finish(); !s.ok()) Die("spool", s);
  t0 = Clock::now();
  auto aligned_spooled =
      (*vault)->tracer().TraceLeak(**permuted_spool, marked.Ref(), everything);
  double trace_aligned_spooled_s = Seconds(t0);
  if (!aligned_spooled.ok()) Die("trace", aligned_spooled.status());

  const bool right = names_leaker(*report) && names_leaker(*told) &&
                     names_leaker(*aligned_told) &&
                     names_leaker(*aligned_search) &&
                     names_leaker(*aligned_spooled);
  std::printf(
      "model                         %.0f MiB, %u marked positions in %u "
      "tensors\n",
      mib, marked.fingerprint.tardos_positions, marked.fingerprint.tensors);
  std::printf("upload as blob                %.2f GB/s\n",
              model.size() / blob_s / 1e9);
  std::printf(
      "upload with ingest            %.2f GB/s  = %.2f x blob (mark table "
      "built while streaming)\n",
      model.size() / ingest_s / 1e9, blob_s / ingest_s);
  std::printf("read back unmarked (exact)    %.2f GB/s\n",
              model.size() / unmarked_s / 1e9);
  std::printf(
      "read back fingerprinted       %.2f GB/s  = %.2f x unmarked (marks + "
      "SHA-256 of delivered bytes)\n",
      model.size() / marked_s / 1e9, unmarked_s / marked_s);
  std::printf("index %zu downloads          %.2f s\n", downloads, index_s);
  std::printf(
      "trace 1 leak, found by search %.2f s  verdict %s, top Z %.1f, right "
      "download: %s\n",
      trace_s, mv::VerdictName(report->verdict),
      report->candidates.empty() ? 0.0 : report->candidates[0].score.z,
      right ? "yes" : "NO");
  std::printf(
      "trace 1 leak, artifact told   %.2f s  (%zu downloads scored + %zu "
      "decoys)\n",
      trace_told_s, told->downloads_scored, told->result.decoys.count);
  std::printf("tier 0: the original's bytes  %.2f s  (%s)\n", trace_original_s,
              original->matched_by.c_str());
  std::printf(
      "rows permuted, told           %.2f s  = %.2f x unpermuted told (%zu "
      "tensors aligned by content), right download: %s\n",
      trace_aligned_told_s, trace_aligned_told_s / trace_told_s,
      tensors_aligned, names_leaker(*aligned_told) ? "yes" : "NO");
  std::printf(
      "rows permuted, by search      %.2f s  = %.2f x unpermuted search (%s), "
      "right download: %s\n",
      trace_aligned_search_s, trace_aligned_search_s / trace_s,
      aligned_search->matched_by.c_str(),
      names_leaker(*aligned_search) ? "yes" : "NO");
  std::printf(
      "spool sealed to disk          %.2f GB/s  = %.2f x read back unmarked\n",
      copy.size() / spool_s / 1e9, unmarked_s / spool_s);
  std::printf(
      "trace from the sealed spool   %.2f s  = %.2f x from memory (artifact "
      "told)\n",
      trace_spooled_s, trace_spooled_s / trace_told_s);
  std::printf(
      "rows permuted, sealed spool   %.2f s  = %.2f x unpermuted from the "
      "spool (artifact told)\n",
      trace_aligned_spooled_s, trace_aligned_spooled_s / trace_spooled_s);
  vault->reset();
  std::filesystem::remove_all(dir);
  return right ? 0 : 1;
}
