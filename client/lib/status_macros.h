// Status propagation macros for the client library.
//
// Debian's Abseil ships no RETURN_IF_ERROR/ASSIGN_OR_RETURN, so modelvault
// defines its own two (STYLE.md). The guards let the server/core definitions
// and these coexist in one translation unit without redefinition errors.
// Stateless; thread-safe.
#ifndef MODELVAULT_CLIENT_LIB_STATUS_MACROS_H_
#define MODELVAULT_CLIENT_LIB_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#ifndef MV_RETURN_IF_ERROR
#define MV_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status mv_status_ = (expr);      \
    if (!mv_status_.ok()) return mv_status_; \
  } while (0)
#endif

#define MV_STATUS_CONCAT_INNER_(a, b) a##b
#define MV_STATUS_CONCAT_(a, b) MV_STATUS_CONCAT_INNER_(a, b)

#ifndef MV_ASSIGN_OR_RETURN
#define MV_ASSIGN_OR_RETURN(lhs, expr)                                      \
  MV_ASSIGN_OR_RETURN_IMPL_(MV_STATUS_CONCAT_(mv_statusor_, __LINE__), lhs, \
                            expr)
#define MV_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
#endif

#endif  // MODELVAULT_CLIENT_LIB_STATUS_MACROS_H_
