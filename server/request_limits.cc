#include "server/request_limits.h"

#include <google/protobuf/descriptor.h>

#include <array>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "access/policy.h"
#include "vault/artifact_io.h"
#include "vault/identity.h"

namespace mvserver {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kU32Max = std::numeric_limits<uint32_t>::max();

// Sizes in bytes, the largest each grammar of the core accepts.
constexpr uint64_t kName = 200;  // artifact name (vault/reference.h)
// NAME@sha256:<64 hex>, the longest selector (aliases ≤ 64, numbers ≤ 20).
constexpr uint64_t kRef = kName + 1 + 7 + 64;
constexpr uint64_t kShortName = 64;  // principal, policy, alias, label key
constexpr uint64_t kCertIdentity = mv::kMaxCertIdentityKey;  // with its kind
constexpr uint64_t kAccessor = 24;      // 12 random bytes in hex
constexpr uint64_t kPageToken = 1024;   // base64 of a catalog key or sequence
constexpr uint64_t kFilterField = 256;  // an audit filter's exact value
// Stream chunks are bounded by the transport (ServerLimits::max_message_bytes)
// before this table sees them; the row says so rather than repeat the flag.
constexpr uint64_t kChunk = kU32Max;
// Sequences, sizes, offsets and times are stored as int64 or compared with
// int64 values: beyond it they would wrap.
constexpr uint64_t kNonNegative = kI64Max;

constexpr uint64_t kPolicies = mv::kMaxPoliciesPerGrant;

constexpr std::array kLimits = {
    // ArtifactService
    FieldLimit{"UploadHeader.name", 0, kName},
    FieldLimit{"UploadHeader.labels", 0, 0, mv::kMaxLabelsPerVersion},
    FieldLimit{"UploadHeader.LabelsEntry.key", 0, kShortName},
    FieldLimit{"UploadHeader.LabelsEntry.value", 0, 1024},
    FieldLimit{"UploadHeader.aliases", 0, kShortName, mv::kMaxAliasesPerUpload},
    FieldLimit{"UploadHeader.expected_size", 0, kNonNegative},
    FieldLimit{"UploadRequest.chunk", 0, kChunk},
    FieldLimit{"UploadTrailer.sha256", 0, 32},
    FieldLimit{"UploadTrailer.xxh3_64", 0, kU64Max},
    FieldLimit{"DownloadRequest.ref", 0, kRef},
    FieldLimit{"DownloadRequest.offset", 0, kNonNegative},
    FieldLimit{"DownloadRequest.length", 0, kNonNegative},
    FieldLimit{"DownloadRequest.download_id", 0, kU64Max},
    FieldLimit{"GetVersionRequest.ref", 0, kRef},
    FieldLimit{"ListVersionsRequest.prefix", 0, kName},
    // Larger pages are served at the largest size (AIP-158), not refused.
    FieldLimit{"ListVersionsRequest.page_size", 0, kU32Max},
    FieldLimit{"ListVersionsRequest.page_token", 0, kPageToken},
    FieldLimit{"DeleteVersionRequest.ref", 0, kRef},
    FieldLimit{"SetAliasRequest.ref", 0, kRef},
    FieldLimit{"SetAliasRequest.alias", 0, kShortName},
    FieldLimit{"DeleteAliasRequest.name", 0, kName},
    FieldLimit{"DeleteAliasRequest.alias", 0, kShortName},
    // AdminService
    FieldLimit{"CreatePrincipalRequest.name", 0, kShortName},
    FieldLimit{"CreatePrincipalRequest.policies", 0, kShortName, kPolicies},
    FieldLimit{"CreatePrincipalRequest.cert_identity", 0, kCertIdentity},
    FieldLimit{"GetPrincipalRequest.name", 0, kShortName},
    FieldLimit{"DeletePrincipalRequest.name", 0, kShortName},
    FieldLimit{"AttachPolicyRequest.principal", 0, kShortName},
    FieldLimit{"AttachPolicyRequest.policy", 0, kShortName},
    FieldLimit{"DetachPolicyRequest.principal", 0, kShortName},
    FieldLimit{"DetachPolicyRequest.policy", 0, kShortName},
    FieldLimit{"CreateTokenRequest.principal", 0, kShortName},
    FieldLimit{"CreateTokenRequest.ttl_seconds", 0,
               315'360'000},  // kMaxTokenTtl
    FieldLimit{"CreateTokenRequest.uses", 0, mv::kMaxTokenUses},
    FieldLimit{"CreateTokenRequest.policies", 0, kShortName, kPolicies},
    FieldLimit{"ListTokensRequest.principal", 0, kShortName},
    FieldLimit{"LookupTokenRequest.accessor", 0, kAccessor},
    FieldLimit{"RevokeTokenRequest.accessor", 0, kAccessor},
    FieldLimit{"PutPolicyRequest.name", 0, kShortName},
    FieldLimit{"PutPolicyRequest.json", 0, mv::kMaxPolicyDocumentBytes},
    FieldLimit{"GetPolicyRequest.name", 0, kShortName},
    FieldLimit{"DeletePolicyRequest.name", 0, kShortName},
    // AuditService
    FieldLimit{"AuditFilter.principal", 0, kFilterField},
    FieldLimit{"AuditFilter.artifact", 0, kFilterField},
    FieldLimit{"AuditFilter.action", 0, kFilterField},
    FieldLimit{"AuditFilter.decision", 0, kFilterField},
    FieldLimit{"AuditFilter.since_unix_ms", 0, kNonNegative},
    FieldLimit{"AuditFilter.until_unix_ms", 0, kNonNegative},
    FieldLimit{"QueryRecordsRequest.page_size", 0, kU32Max},  // as above
    FieldLimit{"QueryRecordsRequest.page_token", 0, kPageToken},
    FieldLimit{"FollowRecordsRequest.after_sequence", 0, kNonNegative},
    FieldLimit{"ExportRequest.from_sequence", 0, kNonNegative},
    FieldLimit{"ExportRequest.since_unix_ms", 0, kNonNegative},
    FieldLimit{"ExportRequest.through_sequence", 0, kNonNegative},
    FieldLimit{"ArchiveAuditRequest.before_unix_ms", 0, kNonNegative},
    FieldLimit{"ArchiveAuditRequest.through_sequence", 0, kNonNegative},
    FieldLimit{"ArchiveAuditRequest.archive_sha256", 0, 64},  // hex
    // TraceService (the size is checked against --max-trace-bytes after)
    FieldLimit{"TraceHeader.artifact", 0, kName},
    FieldLimit{"TraceHeader.size", 0, kNonNegative},
    FieldLimit{"TraceRequest.chunk", 0, kChunk},
    // OperatorService: a share is ~100 characters (crypto/unseal_shares.h)
    FieldLimit{"UnsealRequest.key", 0, 256},
};

constexpr std::string_view kPackage = "modelvault.v1.";

// "modelvault.v1.X.y" → "X.y", as the table and the messages name fields.
std::string ShortName(const FieldDescriptor& field) {
  std::string_view name = field.full_name();
  if (name.substr(0, kPackage.size()) == kPackage)
    name.remove_prefix(kPackage.size());
  return std::string(name);
}

const FieldLimit* FindLimit(const FieldDescriptor& field) {
  const std::string name = ShortName(field);
  for (const FieldLimit& limit : kLimits) {
    if (limit.field == name) return &limit;
  }
  return nullptr;
}

absl::Status OutOfRange(const FieldDescriptor& field, std::string_view what,
                        const FieldLimit& limit) {
  return absl::InvalidArgumentError(
      absl::StrCat(ShortName(field), ": ", std::string(what),
                   " is out of range [", limit.min, ", ", limit.max, "]"));
}

absl::Status UnknownEnumValue(const FieldDescriptor& field, int value) {
  std::string names;
  const google::protobuf::EnumDescriptor& e = *field.enum_type();
  for (int i = 0; i < e.value_count(); ++i)
    absl::StrAppend(&names, i == 0 ? "" : ", ", e.value(i)->name());
  return absl::InvalidArgumentError(
      absl::StrCat(ShortName(field), ": unknown value ", value,
                   " (expected one of ", names, ")"));
}

bool InRange(int64_t v, const FieldLimit& limit) {
  return v >= limit.min && (v < 0 || static_cast<uint64_t>(v) <= limit.max);
}

// One value of a scalar field (index -1: singular).
absl::Status CheckValue(const Message& m, const FieldDescriptor& field,
                        int index, const FieldLimit& limit) {
  const Reflection& r = *m.GetReflection();
  const bool rep = index >= 0;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64: {
      const int64_t v = field.cpp_type() == FieldDescriptor::CPPTYPE_INT32
                            ? (rep ? r.GetRepeatedInt32(m, &field, index)
                                   : r.GetInt32(m, &field))
                            : (rep ? r.GetRepeatedInt64(m, &field, index)
                                   : r.GetInt64(m, &field));
      if (InRange(v, limit)) return absl::OkStatus();
      return OutOfRange(field, absl::StrCat(v), limit);
    }
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      const uint64_t v = field.cpp_type() == FieldDescriptor::CPPTYPE_UINT32
                             ? (rep ? r.GetRepeatedUInt32(m, &field, index)
                                    : r.GetUInt32(m, &field))
                             : (rep ? r.GetRepeatedUInt64(m, &field, index)
                                    : r.GetUInt64(m, &field));
      if (v <= limit.max) return absl::OkStatus();
      return OutOfRange(field, absl::StrCat(v), limit);
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& v =
          rep ? r.GetRepeatedStringReference(m, &field, index, &scratch)
              : r.GetStringReference(m, &field, &scratch);
      if (v.size() <= limit.max) return absl::OkStatus();
      return OutOfRange(field, absl::StrCat(v.size(), " bytes"), limit);
    }
    default:
      return absl::InternalError(
          absl::StrCat(ShortName(field), ": no range check for its type"));
  }
}

absl::Status CheckMessage(const Message& m);

absl::Status CheckField(const Message& m, const FieldDescriptor& field) {
  const Reflection& r = *m.GetReflection();
  const int count = field.is_repeated() ? r.FieldSize(m, &field) : 1;
  const FieldLimit* limit = FindLimit(field);
  const auto type = field.cpp_type();
  if (NeedsLimit(field) && limit == nullptr) {
    return absl::InternalError(absl::StrCat(
        ShortName(field), " has no row in the request limits table"));
  }
  if (field.is_repeated() && static_cast<uint64_t>(count) > limit->max_count) {
    return absl::InvalidArgumentError(absl::StrCat(
        ShortName(field), ": ", count, " entries, at most ", limit->max_count));
  }
  for (int i = 0; i < count; ++i) {
    const int index = field.is_repeated() ? i : -1;
    if (type == FieldDescriptor::CPPTYPE_MESSAGE) {
      const Message& sub = field.is_repeated()
                               ? r.GetRepeatedMessage(m, &field, i)
                               : r.GetMessage(m, &field);
      if (absl::Status s = CheckMessage(sub); !s.ok()) return s;
    } else if (type == FieldDescriptor::CPPTYPE_ENUM) {
      const int v = field.is_repeated() ? r.GetRepeatedEnumValue(m, &field, i)
                                        : r.GetEnumValue(m, &field);
      // proto3 keeps numbers this build does not know; never guess one.
      if (field.enum_type()->FindValueByNumber(v) == nullptr)
        return UnknownEnumValue(field, v);
    } else if (type != FieldDescriptor::CPPTYPE_BOOL) {
      if (absl::Status s = CheckValue(m, field, index, *limit); !s.ok())
        return s;
    }
  }
  return absl::OkStatus();
}

// Only the fields that are set (a proto3 scalar at its default is not).
absl::Status CheckMessage(const Message& m) {
  std::vector<const FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);
  for (const FieldDescriptor* field : fields) {
    if (absl::Status s = CheckField(m, *field); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

std::span<const FieldLimit> RequestFieldLimits() { return kLimits; }

bool NeedsLimit(const google::protobuf::FieldDescriptor& field) {
  const auto type = field.cpp_type();
  return field.is_repeated() || (type != FieldDescriptor::CPPTYPE_BOOL &&
                                 type != FieldDescriptor::CPPTYPE_ENUM &&
                                 type != FieldDescriptor::CPPTYPE_MESSAGE);
}

absl::Status CheckRequestLimits(const google::protobuf::Message& request) {
  return CheckMessage(request);
}

}  // namespace mvserver
