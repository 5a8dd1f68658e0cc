#include "server/test_certs.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace mvtesting {
namespace {

constexpr char kNewKey[] =
    "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

// Single-quotes `text` for the shell.
std::string Quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// openssl's -subj "/CN=…", with the separators inside the CN escaped.
std::string Subject(const std::string& cn) {
  std::string out = "/CN=";
  for (char c : cn) {
    if (c == '/' || c == '\\' || c == '+' || c == '=') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::Status TestPki::Run(const std::string& command) {
  const std::string log = dir_.Sub("openssl.log");
  if (std::system((command + " >" + Quote(log) + " 2>&1").c_str()) != 0) {
    return absl::InternalError("openssl failed: " + command + "\n" +
                               ReadTextFile(log));
  }
  return absl::OkStatus();
}

absl::StatusOr<CertFiles> TestPki::Load(const std::string& name) {
  CertFiles files{dir_.Sub(name + ".pem"), dir_.Sub(name + ".key"), "", ""};
  files.cert_pem = ReadTextFile(files.cert_path);
  files.key_pem = ReadTextFile(files.key_path);
  if (files.cert_pem.empty() || files.key_pem.empty()) {
    return absl::InternalError("openssl wrote no certificate/key for " + name);
  }
  return files;
}

absl::StatusOr<CertFiles> TestPki::MakeCa(const std::string& name,
                                          const std::string& cn) {
  const std::string base = dir_.Sub(name);
  if (absl::Status s =
          Run("openssl req -x509 " + std::string(kNewKey) + " -keyout " +
              Quote(base + ".key") + " -out " + Quote(base + ".pem") +
              " -days 2 -subj " + Quote(Subject(cn)) +
              " -addext basicConstraints=critical,CA:TRUE"
              " -addext keyUsage=critical,keyCertSign,cRLSign");
      !s.ok()) {
    return s;
  }
  return Load(name);
}

absl::StatusOr<CertFiles> TestPki::MakeLeaf(const std::string& name,
                                            const CertFiles& ca,
                                            const LeafSpec& spec) {
  const std::string base = dir_.Sub(name);
  std::ofstream(base + ".ext")
      << "basicConstraints=CA:FALSE\n"
      << "extendedKeyUsage=serverAuth,clientAuth\n"
      << (spec.san.empty() ? "" : "subjectAltName=" + spec.san + "\n");
  if (absl::Status s =
          Run("openssl req " + std::string(kNewKey) + " -keyout " +
              Quote(base + ".key") + " -out " + Quote(base + ".csr") +
              " -subj " + Quote(Subject(spec.cn)));
      !s.ok()) {
    return s;
  }
  // OpenSSL 3.0 accepts a negative -days: notAfter lands in the past, which
  // is how an expired certificate is made without a fake clock.
  if (absl::Status s =
          Run("openssl x509 -req -in " + Quote(base + ".csr") + " -CA " +
              Quote(ca.cert_path) + " -CAkey " + Quote(ca.key_path) +
              " -set_serial " + std::to_string(++serial_) + " -days " +
              std::to_string(spec.days) + " -extfile " + Quote(base + ".ext") +
              " -out " + Quote(base + ".pem"));
      !s.ok()) {
    return s;
  }
  return Load(name);
}

absl::StatusOr<CertFiles> TestPki::MakeSelfSigned(const std::string& name,
                                                  const LeafSpec& spec) {
  const std::string base = dir_.Sub(name);
  std::string command =
      "openssl req -x509 " + std::string(kNewKey) + " -keyout " +
      Quote(base + ".key") + " -out " + Quote(base + ".pem") + " -days " +
      std::to_string(spec.days) + " -subj " + Quote(Subject(spec.cn)) +
      " -addext basicConstraints=CA:FALSE"
      " -addext extendedKeyUsage=serverAuth,clientAuth";
  if (!spec.san.empty())
    command += " -addext " + Quote("subjectAltName=" + spec.san);
  if (absl::Status s = Run(command); !s.ok()) return s;
  return Load(name);
}

}  // namespace mvtesting
