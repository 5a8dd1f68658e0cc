// Status propagation helpers. Debian's Abseil (20220623) does not ship
// ASSIGN_OR_RETURN / RETURN_IF_ERROR, so modelvault defines its own two.
#ifndef MODELVAULT_COMMON_STATUS_MACROS_H_
#define MODELVAULT_COMMON_STATUS_MACROS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define MV_CONCAT_INNER_(a, b) a##b
#define MV_CONCAT_(a, b) MV_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define MV_RETURN_IF_ERROR(expr)                                               \
  do {                                                                         \
    if (absl::Status mv_status_ = (expr); !mv_status_.ok()) return mv_status_; \
  } while (0)

// `MV_ASSIGN_OR_RETURN(auto x, Foo());` assigns the value of a StatusOr or
// returns its error from the enclosing function.
#define MV_ASSIGN_OR_RETURN(lhs, expr) \
  MV_ASSIGN_OR_RETURN_IMPL_(MV_CONCAT_(mv_statusor_, __LINE__), lhs, expr)
#define MV_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).status();  \
  lhs = std::move(tmp).value()

namespace mv {

// A status with its own copy of the message, for handing to another thread.
// Copies of an absl::Status share one reference-counted message; Debian's
// Abseil is not built for ThreadSanitizer, so TSan cannot see that count's
// synchronisation and reports the last owner's free as a race.
inline absl::Status CopyForAnotherThread(const absl::Status& status) {
  return absl::Status(status.code(), std::string(status.message()));
}

}  // namespace mv

#endif  // MODELVAULT_COMMON_STATUS_MACROS_H_
