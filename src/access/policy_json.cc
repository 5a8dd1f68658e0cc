// Policy documents <-> Policy (format in access/policy.h), with
// nlohmann-json. Every rejection is INVALID_ARGUMENT "<path>: <what>", and
// bytes taken from the document are C-escaped so messages stay printable.
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "access/glob.h"
#include "access/policy.h"

namespace mv {
namespace {

using Json = nlohmann::json;

constexpr int kMaxDepth = 8;

absl::Status Bad(const std::string& path, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": ", std::string(what)));
}

// Quotes `s` for an error message: escaped, and cut to 64 bytes.
std::string Quote(std::string_view s) {
  std::string head(s.substr(0, 64));
  return absl::StrCat("\"", absl::CHexEscape(head),
                      s.size() > 64 ? "...\"" : "\"");
}

std::string Index(const std::string& path, size_t i) {
  return absl::StrCat(path, "[", i, "]");
}

// Checks that `v` is an object holding only `allowed` keys.
absl::Status CheckObject(const Json& v, const std::string& path,
                         std::initializer_list<std::string_view> allowed) {
  if (!v.is_object()) return Bad(path, "must be an object");
  for (const auto& [key, unused] : v.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Bad(path, "unknown field " + Quote(key));
    }
  }
  return absl::OkStatus();
}

// A non-empty array of at most kMaxListEntries strings.
absl::StatusOr<std::vector<std::string>> StringList(const Json& v,
                                                    const std::string& path) {
  if (!v.is_array()) return Bad(path, "must be an array of strings");
  if (v.empty()) return Bad(path, "must not be empty");
  if (v.size() > kMaxListEntries) return Bad(path, "more than 256 entries");
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) return Bad(Index(path, i), "must be a string");
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

absl::StatusOr<uint64_t> Count(const Json& v, const std::string& path) {
  if (!v.is_number_unsigned())
    return Bad(path, "must be a non-negative integer");
  return v.get<uint64_t>();
}

// "500GiB", "10MB", "123" (bytes) or an integer.
absl::StatusOr<uint64_t> Size(const Json& v, const std::string& path) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (!v.is_string()) {
    return Bad(
        path,
        "must be a non-negative integer or a size string like \"500GiB\"");
  }
  const std::string& s = v.get_ref<const std::string&>();
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KB", 1000ull},
      {"MB", 1000ull * 1000},
      {"GB", 1000ull * 1000 * 1000},
      {"TB", 1000ull * 1000 * 1000 * 1000},
      {"KiB", 1ull << 10},
      {"MiB", 1ull << 20},
      {"GiB", 1ull << 30},
      {"TiB", 1ull << 40},
  };
  std::string_view unit = std::string_view(s).substr(digits);
  const auto* found =
      std::find_if(std::begin(kUnits), std::end(kUnits),
                   [&](const auto& u) { return u.first == unit; });
  if (digits == 0 || found == std::end(kUnits)) {
    return Bad(
        path,
        "not a size (digits, then B, KB, MB, GB, TB, KiB, MiB, GiB or TiB): " +
            Quote(s));
  }
  uint64_t n = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (__builtin_mul_overflow(n, 10, &n) ||
        __builtin_add_overflow(n, static_cast<uint64_t>(s[i] - '0'), &n)) {
      return Bad(path, "size overflows 64 bits: " + Quote(s));
    }
  }
  if (__builtin_mul_overflow(n, found->second, &n)) {
    return Bad(path, "size overflows 64 bits: " + Quote(s));
  }
  return n;
}

absl::StatusOr<absl::Time> Time(const Json& v, const std::string& path) {
  if (!v.is_string()) return Bad(path, "must be an RFC 3339 time string");
  const std::string& s = v.get_ref<const std::string&>();
  absl::Time t;
  std::string err;
  // absl also accepts "infinite-future" and surrounding spaces; RFC 3339
  // does not.
  bool plain =
      !s.empty() && s.find_first_of(" \t\n\r\v\f") == std::string::npos;
  if (!plain || !absl::ParseTime(absl::RFC3339_full, s, &t, &err) ||
      t == absl::InfiniteFuture() || t == absl::InfinitePast()) {
    return Bad(path, "not an RFC 3339 time: " + Quote(s));
  }
  return t;
}

absl::StatusOr<Conditions> ParseConditions(const Json& v,
                                           const std::string& path) {
  absl::Status s = CheckObject(
      v, path,
      {"source_cidrs", "not_before", "not_after", "max_downloads_per_day",
       "max_bytes_per_day", "require_fingerprint"});
  if (!s.ok()) return s;
  Conditions c;
  if (v.contains("source_cidrs")) {
    std::string p = path + ".source_cidrs";
    absl::StatusOr<std::vector<std::string>> texts =
        StringList(v["source_cidrs"], p);
    if (!texts.ok()) return texts.status();
    for (size_t i = 0; i < texts->size(); ++i) {
      absl::StatusOr<Cidr> cidr = Cidr::Parse((*texts)[i]);
      if (!cidr.ok())
        return Bad(Index(p, i), std::string(cidr.status().message()));
      c.source_cidrs.push_back(*cidr);
    }
  }
  for (auto [key, field] : {std::pair{"not_before", &c.not_before},
                            std::pair{"not_after", &c.not_after}}) {
    if (!v.contains(key)) continue;
    absl::StatusOr<absl::Time> t = Time(v[key], path + "." + key);
    if (!t.ok()) return t.status();
    *field = *t;
  }
  if (c.not_before && c.not_after && *c.not_before >= *c.not_after) {
    return Bad(path + ".not_after", "must be after not_before");
  }
  if (v.contains("max_downloads_per_day")) {
    absl::StatusOr<uint64_t> n =
        Count(v["max_downloads_per_day"], path + ".max_downloads_per_day");
    if (!n.ok()) return n.status();
    c.max_downloads_per_day = *n;
  }
  if (v.contains("max_bytes_per_day")) {
    absl::StatusOr<uint64_t> n =
        Size(v["max_bytes_per_day"], path + ".max_bytes_per_day");
    if (!n.ok()) return n.status();
    c.max_bytes_per_day = *n;
  }
  if (v.contains("require_fingerprint")) {
    if (!v["require_fingerprint"].is_boolean()) {
      return Bad(path + ".require_fingerprint", "must be true or false");
    }
    c.require_fingerprint = v["require_fingerprint"].get<bool>();
  }
  return c;
}

absl::StatusOr<uint32_t> ParseActions(const Json& v, const std::string& path) {
  absl::StatusOr<std::vector<std::string>> names = StringList(v, path);
  if (!names.ok()) return names.status();
  uint32_t actions = 0;
  for (size_t i = 0; i < names->size(); ++i) {
    std::optional<Action> a = ParseAction((*names)[i]);
    if (!a) return Bad(Index(path, i), "unknown action " + Quote((*names)[i]));
    actions |= 1u << static_cast<int>(*a);
  }
  return actions;
}

absl::StatusOr<Rule> ParseRule(const Json& v, const std::string& path) {
  absl::Status s =
      CheckObject(v, path, {"effect", "artifacts", "actions", "conditions"});
  if (!s.ok()) return s;
  Rule rule;
  if (!v.contains("effect")) return Bad(path, "missing field \"effect\"");
  const Json& effect = v["effect"];
  if (effect == "allow") {
    rule.effect = Rule::Effect::kAllow;
  } else if (effect == "deny") {
    rule.effect = Rule::Effect::kDeny;
  } else {
    return Bad(path + ".effect", "must be \"allow\" or \"deny\"");
  }
  if (!v.contains("actions")) return Bad(path, "missing field \"actions\"");
  absl::StatusOr<uint32_t> actions =
      ParseActions(v["actions"], path + ".actions");
  if (!actions.ok()) return actions.status();
  rule.actions = *actions;
  bool admin_only = true;
  for (int a = 0; a < kActionCount; ++a) {
    if (rule.Has(static_cast<Action>(a)) &&
        !IsAdminAction(static_cast<Action>(a))) {
      admin_only = false;
    }
  }
  if (v.contains("artifacts")) {
    std::string p = path + ".artifacts";
    absl::StatusOr<std::vector<std::string>> globs =
        StringList(v["artifacts"], p);
    if (!globs.ok()) return globs.status();
    for (size_t i = 0; i < globs->size(); ++i) {
      absl::Status g = access_internal::ValidateGlob((*globs)[i]);
      if (!g.ok()) return Bad(Index(p, i), std::string(g.message()));
    }
    rule.artifacts = *std::move(globs);
  } else if (!admin_only) {
    return Bad(path,
               "missing field \"artifacts\" (required unless every action is "
               "admin:*)");
  }
  if (v.contains("conditions")) {
    absl::StatusOr<Conditions> c =
        ParseConditions(v["conditions"], path + ".conditions");
    if (!c.ok()) return c.status();
    rule.conditions = *std::move(c);
  }
  return rule;
}

// Parses with duplicate-key and nesting-depth checks (nlohmann keeps the
// last of duplicate keys silently). Discarded on any error.
Json ParseStrictly(std::string_view text, std::string* error) {
  std::vector<std::set<std::string>> keys;
  Json::parser_callback_t check = [&](int depth, Json::parse_event_t event,
                                      Json& parsed) {
    if (depth > kMaxDepth) {
      if (error->empty()) *error = "nested deeper than 8 levels";
      return false;
    }
    if (event == Json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == Json::parse_event_t::object_end && !keys.empty()) {
      keys.pop_back();
    } else if (event == Json::parse_event_t::key && !keys.empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(key).second && error->empty()) {
        *error = "duplicate field " + Quote(key);
      }
    }
    return true;
  };
  Json doc =
      Json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/false);
  if (doc.is_discarded() && error->empty()) *error = "not valid JSON";
  return doc;
}

}  // namespace

absl::StatusOr<Policy> ParsePolicy(std::string_view name,
                                   std::string_view json) {
  if (absl::Status s = ValidatePolicyName(name); !s.ok()) return s;
  if (name == kRootPolicy) {
    return absl::InvalidArgumentError("policy name \"root\" is reserved");
  }
  if (json.size() > kMaxPolicyDocumentBytes) {
    return Bad("policy document", "larger than 1 MiB");
  }
  std::string error;
  Json doc = ParseStrictly(json, &error);
  if (!error.empty()) return Bad("policy document", error);
  if (absl::Status s = CheckObject(doc, "policy document", {"rules"}); !s.ok())
    return s;
  if (!doc.contains("rules"))
    return Bad("policy document", "missing field \"rules\"");
  const Json& rules = doc["rules"];
  if (!rules.is_array()) return Bad("rules", "must be an array");
  if (rules.empty()) return Bad("rules", "must not be empty");
  if (rules.size() > kMaxRulesPerPolicy)
    return Bad("rules", "more than 1000 rules");
  Policy policy;
  policy.name = std::string(name);
  for (size_t i = 0; i < rules.size(); ++i) {
    absl::StatusOr<Rule> rule = ParseRule(rules[i], Index("rules", i));
    if (!rule.ok()) return rule.status();
    policy.rules.push_back(*std::move(rule));
  }
  IndexPolicy(&policy);
  return policy;
}

namespace {

std::string Rfc3339(absl::Time t) {
  std::string s = absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
  if (s.ends_with("+00:00")) s.replace(s.size() - 6, 6, "Z");
  return s;
}

Json ConditionsToJson(const Conditions& c) {
  Json out = Json::object();
  if (!c.source_cidrs.empty()) {
    Json cidrs = Json::array();
    for (const Cidr& cidr : c.source_cidrs) cidrs.push_back(cidr.ToString());
    out["source_cidrs"] = std::move(cidrs);
  }
  if (c.not_before) out["not_before"] = Rfc3339(*c.not_before);
  if (c.not_after) out["not_after"] = Rfc3339(*c.not_after);
  if (c.max_downloads_per_day)
    out["max_downloads_per_day"] = *c.max_downloads_per_day;
  if (c.max_bytes_per_day) out["max_bytes_per_day"] = *c.max_bytes_per_day;
  if (c.require_fingerprint) out["require_fingerprint"] = true;
  return out;
}

}  // namespace

std::string PolicyToJson(const Policy& policy) {
  Json rules = Json::array();
  for (const Rule& rule : policy.rules) {
    Json r = Json::object();
    r["effect"] = rule.effect == Rule::Effect::kAllow ? "allow" : "deny";
    Json actions = Json::array();
    for (int a = 0; a < kActionCount; ++a) {
      if (rule.Has(static_cast<Action>(a))) {
        actions.push_back(std::string(ActionName(static_cast<Action>(a))));
      }
    }
    r["actions"] = std::move(actions);
    if (!rule.artifacts.empty()) r["artifacts"] = rule.artifacts;
    Json conditions = ConditionsToJson(rule.conditions);
    if (!conditions.empty()) r["conditions"] = std::move(conditions);
    rules.push_back(std::move(r));
  }
  Json doc = Json::object();
  doc["rules"] = std::move(rules);
  return doc.dump();
}

}  // namespace mv
