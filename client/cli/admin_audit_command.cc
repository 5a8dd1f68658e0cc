#include "client/cli/admin_audit_command.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "audit/audit_export.h"
#include "audit/checkpoint.h"
#include "audit/shred_certificate.h"
#include "audit/witness.h"
#include "client/cli/audit_output.h"
#include "client/cli/duration.h"
#include "client/lib/file_sinks.h"
#include "client/lib/reference.h"
#include "common/status_macros.h"
#include "crypto/sha256.h"

namespace mvcli {
namespace {

// The most records one `tail` asks for per call (the server's page cap).
constexpr uint32_t kTailPage = 1000;
constexpr char kTimeHelp[] =
    "RFC 3339 (2026-11-29T10:00:00Z) or a duration ago (15m, 2h, 7d)";

CLI::Validator TimeValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto t = ParseAuditTime(value, absl::Now());
        return t.ok() ? "" : std::string(t.status().message());
      },
      "TIME");
}

// Reads a whole file (exports are verified in memory, as VerifyExport takes
// the whole text); a usage error naming `flag` if it cannot.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path,
                                          const char* flag) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    return UsageError(
        absl::StrCat(flag, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  return text.str();
}

absl::StatusOr<std::unique_ptr<mvclient::AuditClient>> ConnectAudit(
    const GlobalOptions& globals) {
  auto client = ConnectClient(globals);
  if (!client.ok()) return client.status();
  return std::make_unique<mvclient::AuditClient>(*std::move(client));
}

// The `count` most recent matching entries, oldest first.
absl::StatusOr<std::vector<mvclient::AuditEntry>> LastEntries(
    mvclient::AuditClient& audit, const mvclient::AuditQuery& query,
    size_t count) {
  std::vector<mvclient::AuditEntry> out;
  std::string token;
  // A page may come back short (the server bounds its scan): keep going
  // until `count` entries or the start of the log.
  while (out.size() < count) {
    uint32_t want =
        static_cast<uint32_t>(std::min<size_t>(count - out.size(), kTailPage));
    auto page = audit.Query(query, want, token, /*newest_first=*/true);
    if (!page.ok()) return page.status();
    for (auto& e : page->entries) out.push_back(std::move(e));
    token = page->next_page_token;
    if (token.empty()) break;
  }
  if (out.size() > count) out.resize(count);
  std::reverse(out.begin(), out.end());
  return out;
}

// The newest sequence in the log (0 = empty): where `tail -f` starts when
// no record matched, so nothing written meanwhile is missed.
absl::StatusOr<uint64_t> NewestSequence(mvclient::AuditClient& audit) {
  auto page = audit.Query({}, 1, "", /*newest_first=*/true);
  if (!page.ok()) return page.status();
  return page->entries.empty() ? 0 : page->entries.front().sequence;
}

class EntryPrinter {
 public:
  explicit EntryPrinter(bool json) : json_(json) {}
  // The table's columns fit the header and `first` rows.
  void Size(const std::vector<mvclient::AuditEntry>& first) {
    FitWidths(AuditHeaderRow(), widths_);
    for (const auto& e : first) FitWidths(AuditEntryRow(e), widths_);
  }
  std::string Header() {
    return json_ ? "" : PaddedRow(AuditHeaderRow(), widths_);
  }
  std::string Line(const mvclient::AuditEntry& e) {
    return json_ ? AuditEntryJsonLine(e) : PaddedRow(AuditEntryRow(e), widths_);
  }

 private:
  bool json_;
  std::vector<size_t> widths_;
};

int FollowEntries(mvclient::AuditClient& audit,
                  const mvclient::AuditQuery& query, uint64_t after,
                  EntryPrinter& printer) {
  int written = kExitOk;
  absl::Status status =
      audit.Follow(query, after, [&](const mvclient::AuditEntry& e) {
        written = PrintResult(printer.Line(e));
        return written == kExitOk;  // e.g. `| head` closed the pipe
      });
  if (!status.ok()) return ReportError(status);
  return written;
}

// Writes the export to `path` the way a pull writes weights
// (mvclient::PartialFileSink: PATH.partial, mode 0600, fsync, rename), so
// that a file at `path` is always a whole export.
absl::Status ExportToFile(mvclient::AuditClient& audit, uint64_t from,
                          int64_t since, const std::string& path,
                          uint64_t* bytes) {
  auto sink = mvclient::PartialFileSink::Create(path, /*overwrite=*/true);
  if (!sink.ok()) {
    return UsageError(
        absl::StrCat("--output: cannot create ", path,
                     ".partial: ", std::string(sink.status().message())));
  }
  MV_RETURN_IF_ERROR(audit.Export(from, since, [&](std::string_view data) {
    *bytes += data.size();
    return (*sink)->Write(absl::string_view(data.data(), data.size()));
  }));
  return (*sink)
      ->Commit();  // an unfinished export is removed by the destructor
}

int RunServerVerify(const GlobalOptions& globals) {
  auto audit = ConnectAudit(globals);
  if (!audit.ok()) return ReportError(audit.status());
  auto verdict = (*audit)->Verify();
  if (!verdict.ok()) return ReportError(verdict.status());
  if (globals.output == OutputFormat::kJson) {
    int rc =
        PrintResult(DumpJson({{"ok", verdict->ok},
                              {"records", verdict->records},
                              {"checkpoints", verdict->checkpoints},
                              {"archived_through", verdict->archived_through},
                              {"problem", verdict->problem}}));
    return verdict->ok ? rc : kExitIntegrity;
  }
  if (!verdict->ok) return ReportError(absl::DataLossError(verdict->problem));
  return PrintResult(absl::StrCat(
      "ok: ", verdict->records, " records, ", verdict->checkpoints,
      " checkpoints",
      verdict->archived_through == 0
          ? ""
          : absl::StrCat("; records 1-", verdict->archived_through,
                         " archived (the chain goes on from their signed "
                         "checkpoint)"),
      "\n"));
}

// Each FILE verified on its own, and each one's first record chained to the
// previous one's last (an archive, then the export that follows it). The
// witness, if any, is checked against the last FILE (the newest history).
int RunOfflineVerify(const AuditVerifyOptions& options,
                     const GlobalOptions& globals) {
  if (options.pubkey.empty()) {
    return ReportError(
        UsageError("verify FILE needs --pubkey PUBFILE (from `mvault admin "
                   "audit pubkey`)"));
  }
  auto key = ReadWholeFile(options.pubkey, "--pubkey");
  if (!key.ok()) return ReportError(key.status());
  std::optional<std::string> witness;
  if (!options.witness.empty()) {
    absl::StatusOr<std::string> read =
        ReadWholeFile(options.witness, "--witness");
    if (!read.ok()) return ReportError(read.status());
    witness = *std::move(read);
  }
  OfflineVerdict verdict{kExitOk, ""};
  mv::VerifyResult previous;
  for (size_t i = 0; i < options.files.size() && verdict.exit_code == kExitOk;
       ++i) {
    const std::string& file = options.files[i];
    auto text = ReadWholeFile(file, "FILE");
    if (!text.ok()) return ReportError(text.status());
    mv::VerifyResult result;
    const bool last = i + 1 == options.files.size();
    OfflineVerdict one =
        VerifyExportText(*text, *key, last ? witness : std::nullopt, &result);
    if (one.exit_code == kExitOk && i > 0 &&
        (result.first_sequence != previous.last_sequence + 1 ||
         result.first_prev != previous.last_hash)) {
      one = {kExitIntegrity,
             absl::StrCat("does not chain into ", options.files[i - 1],
                          ": it starts at sequence ", result.first_sequence,
                          ", and that one ends at ", previous.last_sequence,
                          result.first_sequence == previous.last_sequence + 1
                              ? " with another hash"
                              : "")};
    }
    verdict.exit_code = one.exit_code;
    absl::StrAppend(&verdict.message, verdict.message.empty() ? "" : "\n",
                    options.files.size() > 1 ? file + ": " : "", one.message);
    previous = std::move(result);
  }
  if (globals.output == OutputFormat::kJson) {
    int rc = PrintResult(DumpJson(
        {{"ok", verdict.exit_code == kExitOk}, {"summary", verdict.message}}));
    return verdict.exit_code == kExitOk ? rc : verdict.exit_code;
  }
  if (verdict.exit_code == kExitUsage) {
    return ReportError(UsageError(verdict.message));
  }
  if (verdict.exit_code != kExitOk) {
    return ReportError(absl::DataLossError(verdict.message));
  }
  return PrintResult(verdict.message + "\n");
}

// The archive's export, verified before anything is removed: it must
// verify against the key, end with its signed end, and hold exactly the
// records planned. Kept at `path` (never overwriting a file) before the
// server is asked to remove them. Returns its hex SHA-256.
absl::StatusOr<std::string> KeepArchive(
    mvclient::AuditClient& audit, const mvclient::AuditArchiveRange& range,
    const std::string& public_key, const std::string& path,
    std::string* summary) {
  std::string text;
  MV_RETURN_IF_ERROR(audit.Export(
      range.first, 0,
      [&](std::string_view data) {
        text.append(data);
        return absl::OkStatus();
      },
      range.through));
  mv::VerifyResult result;
  OfflineVerdict verdict =
      VerifyExportText(text, public_key, std::nullopt, &result);
  if (verdict.exit_code != kExitOk) {
    return absl::DataLossError(absl::StrCat(
        "the archive's export does not verify; nothing was removed: ",
        verdict.message));
  }
  if (result.first_sequence != range.first ||
      result.last_sequence != range.through) {
    return absl::DataLossError(absl::StrCat(
        "the archive's export holds sequences ", result.first_sequence, "-",
        result.last_sequence, ", not the ", range.first, "-", range.through,
        " planned; nothing was removed"));
  }
  auto sink = mvclient::PartialFileSink::Create(path, /*overwrite=*/false);
  if (!sink.ok()) {
    return UsageError(absl::StrCat("--output: cannot create ", path, ": ",
                                   sink.status().message()));
  }
  MV_RETURN_IF_ERROR((*sink)->Write(text));
  MV_RETURN_IF_ERROR((*sink)->Commit());
  *summary = verdict.message;
  return mv::ToHex(mv::Sha256::Of(text));
}

void SetupTail(CLI::App& group, CommandContext& ctx) {
  auto opts = std::make_shared<AuditTailOptions>();
  CLI::App* cmd = group.add_subcommand(
      "tail", "Print the last matching records (-f: and follow new ones)");
  cmd->add_flag("-f,--follow", opts->follow,
                "Keep printing new records until Ctrl-C");
  cmd->add_option("-n,--lines", opts->count, "How many records (default 20)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}))
      ->type_name("N");
  cmd->add_option("--principal", opts->principal, "Only this principal")
      ->type_name("NAME");
  cmd->add_option("--artifact", opts->artifact,
                  "Only artifacts matching this policy glob (*, **)")
      ->type_name("GLOB");
  cmd->add_option("--action", opts->action, "Only this action (read, ...)")
      ->type_name("ACTION");
  cmd->add_option("--decision", opts->decision, "Only this decision")
      ->check(CLI::IsMember({"allowed", "denied", "unauthenticated", "failed"}))
      ->type_name("DECISION");
  cmd->add_option("--since", opts->since,
                  absl::StrCat("Records at or after: ", kTimeHelp))
      ->check(TimeValidator())
      ->type_name("TIME");
  cmd->add_option("--until", opts->until,
                  absl::StrCat("Records before: ", kTimeHelp))
      ->check(TimeValidator())
      ->type_name("TIME");
  cmd->callback(
      [opts, &ctx] { ctx.exit_code = RunAuditTail(*opts, ctx.globals); });
}

void SetupExport(CLI::App& group, CommandContext& ctx) {
  auto opts = std::make_shared<AuditExportOptions>();
  CLI::App* cmd = group.add_subcommand(
      "export", "Write the JSON-lines export, ending with a signed checkpoint");
  cmd->add_option(
         "--since", opts->since,
         absl::StrCat("Start at the first record at or after: ", kTimeHelp))
      ->check(TimeValidator())
      ->type_name("TIME");
  cmd->add_option("--from-sequence", opts->from_sequence,
                  "Start at this sequence (default: the first record)")
      ->type_name("N");
  cmd->add_option("--output", opts->output,
                  "Write to FILE (via FILE.partial) instead of stdout")
      ->type_name("FILE");
  cmd->callback(
      [opts, &ctx] { ctx.exit_code = RunAuditExport(*opts, ctx.globals); });
}

void SetupArchive(CLI::App& group, CommandContext& ctx) {
  auto opts = std::make_shared<AuditArchiveOptions>();
  CLI::App* cmd = group.add_subcommand(
      "archive",
      "Move the records before a time out of the server into a verified "
      "export FILE (needs admin:audit:archive)");
  cmd->add_option("--before", opts->before,
                  absl::StrCat("Archive the records up to the newest "
                               "checkpoint signed before: ",
                               kTimeHelp))
      ->required()
      ->check(TimeValidator())
      ->type_name("TIME");
  cmd->add_option("--output", opts->output,
                  "Keep the archive at FILE (must not exist)")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--pubkey", opts->pubkey,
                  "Verify the archive against this public key file before "
                  "removing anything (default: the server's key)")
      ->type_name("PUBFILE");
  cmd->callback(
      [opts, &ctx] { ctx.exit_code = RunAuditArchive(*opts, ctx.globals); });
}

// `verify-certificate FILE --pubkey K`: a shred certificate checked
// offline; exit 5 unless it verifies.
int RunVerifyCertificate(const std::string& file, const std::string& pubkey,
                         const GlobalOptions& globals) {
  auto key_text = ReadWholeFile(pubkey, "--pubkey");
  if (!key_text.ok()) return ReportError(key_text.status());
  std::string key_line = *key_text;
  absl::StripTrailingAsciiWhitespace(&key_line);
  absl::StatusOr<std::string> key = mv::ParsePublicKey(key_line);
  if (!key.ok()) {
    return ReportError(
        UsageError(absl::StrCat("--pubkey: not a modelvault public key (",
                                key.status().message(), ")")));
  }
  auto text = ReadWholeFile(file, "FILE");
  if (!text.ok()) return ReportError(text.status());
  absl::StatusOr<mv::ShredFacts> facts =
      mv::VerifyShredCertificateFile(*text, *key);
  if (!facts.ok()) {
    // Not a certificate, or not this vault's: either way it proves nothing.
    return ReportError(absl::DataLossError(facts.status().message()));
  }
  const std::string when = absl::FormatTime(
      "%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(facts->deleted_at_unix_ms),
      absl::UTCTimeZone());
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson({{"ok", true},
                                 {"version", facts->version},
                                 {"sha256", facts->sha256_hex},
                                 {"deleted_at", when},
                                 {"principal", facts->principal},
                                 {"audit_sequence", facts->audit_sequence}}));
  }
  return PrintResult(absl::StrCat(
      "certificate verifies: ", facts->version, " (sha256 ", facts->sha256_hex,
      ") shredded at ", when, " by ", facts->principal, ", audit record ",
      facts->audit_sequence, "\n"));
}

void SetupVerifyCertificate(CLI::App& group, CommandContext& ctx) {
  auto file = std::make_shared<std::string>();
  auto pubkey = std::make_shared<std::string>();
  CLI::App* cmd = group.add_subcommand(
      "verify-certificate",
      "Check a shred certificate from `mvault rm --certificate` offline "
      "(exit 5 unless it verifies).\n"
      "  example: mvault admin audit verify-certificate llm-3.shred.json "
      "--pubkey vault.pub");
  cmd->add_option("FILE", *file, "The certificate file")->required();
  cmd->add_option("--pubkey", *pubkey,
                  "The vault's public key file (`mvault admin audit pubkey`)")
      ->required()
      ->type_name("PUBFILE");
  cmd->callback([file, pubkey, &ctx] {
    ctx.exit_code = RunVerifyCertificate(*file, *pubkey, ctx.globals);
  });
}

void SetupVerify(CLI::App& group, CommandContext& ctx) {
  auto opts = std::make_shared<AuditVerifyOptions>();
  CLI::App* cmd = group.add_subcommand("verify",
                                       "Verify the stored log (server), or an "
                                       "export FILE offline with --pubkey");
  cmd->add_option("FILE", opts->files,
                  "Exports to verify offline (no server contacted); several: "
                  "each must chain into the next (an archive, then a later "
                  "export)");
  cmd->add_option("--witness", opts->witness,
                  "With FILE: the vault's audit witness file; the export must "
                  "agree with it and reach its newest checkpoint")
      ->type_name("WITNESS");
  cmd->add_option("--pubkey", opts->pubkey,
                  "The vault's public key file (`mvault admin audit pubkey`)")
      ->type_name("PUBFILE");
  cmd->callback(
      [opts, &ctx] { ctx.exit_code = RunAuditVerify(*opts, ctx.globals); });
}

}  // namespace

void SetupAdminAuditCommand(CLI::App& admin, CommandContext& ctx) {
  CLI::App* group = admin.add_subcommand(
      "audit", "Query, follow, export and verify the audit log");
  group->require_subcommand(1);
  SetupTail(*group, ctx);
  SetupExport(*group, ctx);
  SetupArchive(*group, ctx);
  SetupVerify(*group, ctx);
  SetupVerifyCertificate(*group, ctx);
  CLI::App* cmd = group->add_subcommand(
      "pubkey", "Print the checkpoint-signing public key (> vault.pub)");
  cmd->callback([&ctx] { ctx.exit_code = RunAuditPubkey(ctx.globals); });
}

absl::StatusOr<int64_t> ParseAuditTime(std::string_view text, absl::Time now) {
  absl::Time t;
  std::string ignored;
  if (absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &ignored)) {
    return absl::ToUnixMillis(t);
  }
  if (auto ago = ParseDuration(absl::string_view(text.data(), text.size()));
      ago.ok()) {
    return absl::ToUnixMillis(now - *ago);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid time ",
      mvclient::QuoteForMessage(absl::string_view(text.data(), text.size())),
      ": use ", kTimeHelp));
}

absl::StatusOr<mvclient::AuditQuery> TailQuery(const AuditTailOptions& options,
                                               absl::Time now) {
  mvclient::AuditQuery query{options.principal, options.artifact,
                             options.action, options.decision};
  for (auto [flag, text, out] :
       {std::tuple{"--since", &options.since, &query.since_unix_ms},
        std::tuple{"--until", &options.until, &query.until_unix_ms}}) {
    if (text->empty()) continue;
    absl::StatusOr<int64_t> ms = ParseAuditTime(*text, now);
    if (!ms.ok()) {
      return UsageError(absl::StrCat(flag, ": ", ms.status().message()));
    }
    *out = *ms;
  }
  if (query.since_unix_ms != 0 && query.until_unix_ms != 0 &&
      query.since_unix_ms >= query.until_unix_ms) {
    return UsageError("--since must be before --until");
  }
  return query;
}

OfflineVerdict VerifyExportText(std::string_view export_text,
                                std::string_view public_key_text,
                                std::optional<std::string_view> witness_text,
                                mv::VerifyResult* result_out) {
  // Tolerate an editor's extra newline or CR; anything else must be exact.
  std::string key_line(public_key_text);
  absl::StripTrailingAsciiWhitespace(&key_line);
  absl::StatusOr<std::string> key = mv::ParsePublicKey(key_line);
  if (!key.ok()) {
    return {kExitUsage,
            absl::StrCat("--pubkey: not a modelvault audit public key (",
                         key.status().message(), ")")};
  }
  mv::VerifyOptions options;
  options.require_export_end = true;  // a server export always has one
  std::vector<mv::Checkpoint> witness;
  if (witness_text) {
    absl::StatusOr<std::vector<mv::Checkpoint>> parsed =
        mv::ParseWitness(*witness_text, *key);
    if (!parsed.ok()) {
      return {kExitIntegrity,
              absl::StrCat("--witness: ", parsed.status().message())};
    }
    witness = *std::move(parsed);
    options.witness = &witness;
  }
  mv::VerifyResult result = mv::VerifyExport(export_text, *key, options);
  if (result_out != nullptr) *result_out = result;
  if (!result.ok) return {kExitIntegrity, result.Summary()};
  if (result.unsigned_tail > 0) {
    // The server ends every export with a checkpoint: unsigned records at
    // the end mean the file was cut after it was made.
    return {kExitIntegrity,
            absl::StrCat("export truncated: records after the last checkpoint "
                         "are not signed (",
                         result.unsigned_tail, " of ", result.records,
                         " records)")};
  }
  return {kExitOk, result.Summary()};
}

int RunAuditTail(const AuditTailOptions& options,
                 const GlobalOptions& globals) {
  auto query = TailQuery(options, absl::Now());
  if (!query.ok()) return ReportError(query.status());
  auto audit = ConnectAudit(globals);
  if (!audit.ok()) return ReportError(audit.status());
  uint64_t after = 0;
  if (options.follow) {
    auto newest = NewestSequence(**audit);
    if (!newest.ok()) return ReportError(newest.status());
    after = *newest;
  }
  auto entries =
      LastEntries(**audit, *query, static_cast<size_t>(options.count));
  if (!entries.ok()) return ReportError(entries.status());
  EntryPrinter printer(globals.output == OutputFormat::kJson);
  printer.Size(*entries);
  std::string text = printer.Header();
  for (const auto& e : *entries) text += printer.Line(e);
  if (int rc = PrintResult(text); rc != kExitOk || !options.follow) return rc;
  if (!entries->empty()) after = entries->back().sequence;
  return FollowEntries(**audit, *query, after, printer);
}

int RunAuditExport(const AuditExportOptions& options,
                   const GlobalOptions& globals) {
  int64_t since = 0;
  if (!options.since.empty()) {
    auto ms = ParseAuditTime(options.since, absl::Now());
    if (!ms.ok()) {
      return ReportError(
          UsageError(absl::StrCat("--since: ", ms.status().message())));
    }
    since = *ms;
  }
  auto audit = ConnectAudit(globals);
  if (!audit.ok()) return ReportError(audit.status());
  uint64_t bytes = 0;
  if (!options.output.empty()) {
    absl::Status s = ExportToFile(**audit, options.from_sequence, since,
                                  options.output, &bytes);
    if (!s.ok()) return ReportError(s);
    std::fprintf(stderr, "exported %llu bytes to %s\n",
                 static_cast<unsigned long long>(bytes),
                 options.output.c_str());
    return kExitOk;
  }
  absl::Status s =
      (*audit)->Export(options.from_sequence, since, [](std::string_view data) {
        return std::fwrite(data.data(), 1, data.size(), stdout) == data.size()
                   ? absl::OkStatus()
                   : absl::InternalError("cannot write to stdout");
      });
  if (s.ok() && std::fflush(stdout) != 0) {
    s = absl::InternalError("cannot write to stdout");
  }
  return s.ok() ? kExitOk : ReportError(s);
}

int RunAuditArchive(const AuditArchiveOptions& options,
                    const GlobalOptions& globals) {
  auto before = ParseAuditTime(options.before, absl::Now());
  if (!before.ok()) {
    return ReportError(
        UsageError(absl::StrCat("--before: ", before.status().message())));
  }
  if (access(options.output.c_str(), F_OK) == 0) {
    return ReportError(UsageError(
        absl::StrCat("--output: ", options.output,
                     " exists; an archive never overwrites a file")));
  }
  std::string key_text;
  if (!options.pubkey.empty()) {
    auto read = ReadWholeFile(options.pubkey, "--pubkey");
    if (!read.ok()) return ReportError(read.status());
    key_text = *std::move(read);
  }
  auto audit = ConnectAudit(globals);
  if (!audit.ok()) return ReportError(audit.status());
  if (key_text.empty()) {
    auto key = (*audit)->GetPublicKey();
    if (!key.ok()) return ReportError(key.status());
    key_text = *std::move(key);
  }
  auto range = (*audit)->PlanArchive(*before);
  if (!range.ok()) return ReportError(range.status());
  std::string summary;
  auto sha256 =
      KeepArchive(**audit, *range, key_text, options.output, &summary);
  if (!sha256.ok()) return ReportError(sha256.status());
  auto archived = (*audit)->Archive(range->through, *sha256);
  if (!archived.ok()) {
    return ReportError(absl::Status(
        archived.status().code(),
        absl::StrCat(archived.status().message(), " (the export is kept at ",
                     options.output, "; nothing was removed)")));
  }
  if (globals.output == OutputFormat::kJson) {
    return PrintResult(DumpJson({{"first_sequence", archived->first},
                                 {"through_sequence", archived->through},
                                 {"output", options.output},
                                 {"sha256", *sha256},
                                 {"summary", summary}}));
  }
  return PrintResult(absl::StrCat(
      "archived audit records ", archived->first, "-", archived->through,
      " to ", options.output, " (sha256 ", *sha256, ")\n", summary,
      "\nthe server's log now starts at sequence ", archived->through + 1,
      "; verify offline with: mvault admin audit verify ", options.output,
      " --pubkey PUBFILE\n"));
}

int RunAuditVerify(const AuditVerifyOptions& options,
                   const GlobalOptions& globals) {
  if (!options.files.empty()) return RunOfflineVerify(options, globals);
  if (!options.pubkey.empty() || !options.witness.empty()) {
    return ReportError(UsageError(
        "--pubkey and --witness are for verifying an export FILE offline; "
        "give the FILE"));
  }
  return RunServerVerify(globals);
}

int RunAuditPubkey(const GlobalOptions& globals) {
  auto audit = ConnectAudit(globals);
  if (!audit.ok()) return ReportError(audit.status());
  auto key = (*audit)->GetPublicKey();
  if (!key.ok()) return ReportError(key.status());
  if (globals.output == OutputFormat::kJson) {
    std::string line(absl::StripTrailingAsciiWhitespace(*key));
    return PrintResult(DumpJson({{"public_key", line}}));
  }
  return PrintResult(*key);
}

}  // namespace mvcli
