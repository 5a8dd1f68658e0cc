// Client-side helpers for artifact references. The grammar and its
// validation (names, aliases, labels, NAME@selector) live in the core's
// vault/reference.h, shared through modelvault_common, so the CLI rejects
// bad input with the server's own messages before any network traffic.
// Pure functions; thread-safe.
#ifndef MODELVAULT_CLIENT_LIB_REFERENCE_H_
#define MODELVAULT_CLIENT_LIB_REFERENCE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "vault/reference.h"

namespace mvclient {

// `s` in double quotes for an error message: at most 80 bytes, control and
// non-ASCII bytes shown as '?', so hostile input cannot forge output lines.
// (The core quotes the same way inside its own messages.)
std::string QuoteForMessage(absl::string_view s);

// The file a pull writes when no destination is given: "./" + the last name
// segment ("acme/llama-3-8b@prod" -> "./llama-3-8b").
std::string DefaultDestination(const mv::Reference& ref);

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_REFERENCE_H_
