#include "client/cli/output.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/bytes.h"
#include "crypto/sha256.h"

namespace mvcli {
namespace {

using modelvault::v1::Version;

std::string LabelsText(const Version& v) {
  std::vector<std::string> pairs;
  for (const auto& [k, val] : v.labels())
    pairs.push_back(absl::StrCat(k, "=", val));
  std::sort(pairs.begin(), pairs.end());  // proto maps are unordered
  return absl::StrJoin(pairs, ",");
}

std::string ShortDigest(const Version& v) {
  return mv::ToHex(mv::AsBytes(v.sha256())).substr(0, 12);
}

// The label a reader needs to make sense of a bare server message.
absl::string_view CodeLabel(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kNotFound:
      return "not found";
    case absl::StatusCode::kPermissionDenied:
      return "permission denied";
    case absl::StatusCode::kUnauthenticated:
      return "unauthenticated";
    case absl::StatusCode::kDataLoss:
      return "integrity failure";
    case absl::StatusCode::kAlreadyExists:
      return "already exists";
    default:
      return "";
  }
}

}  // namespace

std::string FormatName(modelvault::v1::Format format) {
  switch (format) {
    case modelvault::v1::FORMAT_BLOB:
      return "blob";
    case modelvault::v1::FORMAT_SAFETENSORS:
      return "safetensors";
    case modelvault::v1::FORMAT_GGUF:
      return "gguf";
    default:
      return "unspecified";
  }
}

std::string DeliveryName(modelvault::v1::Delivery delivery) {
  switch (delivery) {
    case modelvault::v1::DELIVERY_FINGERPRINTED:
      return "fingerprinted";
    case modelvault::v1::DELIVERY_UNMARKED:
      return "unmarked";
    case modelvault::v1::DELIVERY_EXACT:
      return "exact";
    default:
      return "unspecified";
  }
}

std::string FingerprintText(const modelvault::v1::Fingerprint& f) {
  if (f.markable()) {
    return absl::StrCat("marked, ", f.positions(), " positions in ",
                        f.tensors(), f.tensors() == 1 ? " tensor" : " tensors");
  }
  return f.unmarked_reason().empty()
             ? "unmarked"
             : absl::StrCat("unmarked (", f.unmarked_reason(), ")");
}

std::string VersionRef(const Version& v) {
  return absl::StrCat(v.name(), "@", v.number());
}

std::string Rfc3339Utc(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

nlohmann::json VersionToJson(const Version& v) {
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [k, val] : v.labels()) labels[k] = val;
  nlohmann::json aliases = nlohmann::json::array();
  for (const std::string& a : v.aliases()) aliases.push_back(a);
  return {
      {"name", v.name()},
      {"version", v.number()},
      {"ref", VersionRef(v)},
      {"size", v.size()},
      {"sha256", mv::ToHex(mv::AsBytes(v.sha256()))},
      {"format", FormatName(v.format())},
      {"labels", std::move(labels)},
      {"aliases", std::move(aliases)},
      {"created_by", v.created_by()},
      {"created_at", Rfc3339Utc(v.created_at_unix_ms())},
      {"chunk_size", v.chunk_size()},
      {"cipher_suite", v.cipher_suite()},
      {"key_version", v.key_version()},
      {"fingerprint",
       {{"markable", v.fingerprint().markable()},
        {"positions", v.fingerprint().positions()},
        {"tensors", v.fingerprint().tensors()},
        {"unmarked_reason", v.fingerprint().unmarked_reason()}}},
  };
}

nlohmann::json VersionsToJson(const std::vector<Version>& versions) {
  nlohmann::json list = nlohmann::json::array();
  for (const Version& v : versions) list.push_back(VersionToJson(v));
  return {{"versions", std::move(list)}};
}

std::string DumpJson(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string VersionDetails(const Version& v) {
  return absl::StrCat(
      "ref:          ", VersionRef(v), "\n",                          //
      "size:         ", v.size(), " (", HumanBytes(v.size()), ")\n",  //
      "sha256:       ", mv::ToHex(mv::AsBytes(v.sha256())), "\n",     //
      "format:       ", FormatName(v.format()), "\n",                 //
      "labels:       ", LabelsText(v), "\n",                          //
      "aliases:      ", absl::StrJoin(v.aliases(), ","), "\n",        //
      "created_by:   ", v.created_by(), "\n",                         //
      "created_at:   ", Rfc3339Utc(v.created_at_unix_ms()), "\n",     //
      "chunk_size:   ", v.chunk_size(), "\n",                         //
      "cipher_suite: ", v.cipher_suite(), "\n",                       //
      "key_version:  ", v.key_version(), "\n",                        //
      "fingerprint:  ", FingerprintText(v.fingerprint()), "\n");
}

std::string VersionsTable(const std::vector<Version>& versions) {
  std::vector<std::vector<std::string>> rows = {
      {"REF", "SIZE", "FORMAT", "SHA256", "CREATED", "ALIASES", "LABELS"}};
  for (const Version& v : versions) {
    rows.push_back({VersionRef(v), HumanBytes(v.size()), FormatName(v.format()),
                    ShortDigest(v), Rfc3339Utc(v.created_at_unix_ms()),
                    absl::StrJoin(v.aliases(), ","), LabelsText(v)});
  }
  return AlignedTable(rows);
}

std::string AlignedTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i], std::string(width[i] - row[i].size(), ' '),
                      "  ");
    }
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  return out;
}

std::string ErrorLine(const absl::Status& status) {
  std::string message(status.message());
  absl::string_view label = CodeLabel(status.code());
  if (message.empty()) {
    message = absl::AsciiStrToLower(absl::StatusCodeToString(status.code()));
    std::replace(message.begin(), message.end(), '_', ' ');
  } else if (!label.empty() &&
             !absl::StrContains(absl::AsciiStrToLower(message), label)) {
    message = absl::StrCat(label, ": ", message);
  }
  // One line, whatever the server put in its message.
  std::replace(message.begin(), message.end(), '\n', ' ');
  return absl::StrCat("mvault: error: ", message);
}

}  // namespace mvcli
