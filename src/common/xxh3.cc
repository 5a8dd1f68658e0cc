#include "common/xxh3.h"

#include <xxhash.h>

#include <cstdlib>

namespace mv {

Xxh3::Xxh3() : state_(XXH3_createState()) {
  // Out of memory for a 576-byte state: nothing sensible is left to do.
  if (state_ == nullptr || XXH3_64bits_reset(state_) != XXH_OK) std::abort();
}

Xxh3::~Xxh3() { XXH3_freeState(state_); }

void Xxh3::Update(std::string_view data) {
  XXH3_64bits_update(state_, data.data(), data.size());
}

uint64_t Xxh3::Digest() const { return XXH3_64bits_digest(state_); }

uint64_t Xxh3::Of(std::string_view data) {
  return XXH3_64bits(data.data(), data.size());
}

}  // namespace mv
