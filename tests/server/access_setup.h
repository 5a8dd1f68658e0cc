// Principals, policies and tokens the access tests share, created through
// the Vault API of a TestServer:
//
//   principal/policy reader-a  allow read, list on a/**
//   principal/policy writer-a  allow read, list, write, delete, alias on a/**
//   principal/policy reader-b  allow read, list on b/**
//   principal/policy admin     allow admin:principals, admin:tokens,
//   admin:policies,
//                              admin:audit
//   principal revoked (policy reader-a) whose only token is revoked.
//
// Not thread-safe.
#ifndef MODELVAULT_TESTS_SERVER_ACCESS_SETUP_H_
#define MODELVAULT_TESTS_SERVER_ACCESS_SETUP_H_

#include <string>

#include "absl/status/statusor.h"
#include "vault/vault.h"

namespace mvtesting {

struct CallerTokens {
  std::string reader_a, writer_a, reader_b, admin, revoked;
};

absl::StatusOr<CallerTokens> SetUpCallers(mv::Vault& vault);

// Creates policy `policy` from `json`, a principal of the same name holding
// it (cert_identity optional) and returns a token for it.
absl::StatusOr<std::string> AddPrincipalWithPolicy(
    mv::Vault& vault, const std::string& name, const std::string& json,
    const std::string& cert_identity = "");

// {"rules":[{"effect":"allow","artifacts":[<glob>],"actions":[<actions>]}]}
// with `actions` given as a JSON list body ("\"read\",\"list\"").
std::string AllowJson(const std::string& glob, const std::string& actions);
// A policy that only denies read on c/**: any admin may grant it.
std::string DenyReadJson();

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_SERVER_ACCESS_SETUP_H_
