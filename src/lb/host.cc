#include "lb/host.h"

#include <utility>

#include "common/hash.h"

namespace surge::lb {

Host::Host(std::string address, uint32_t weight, std::string zone)
    : address_(std::move(address)),
      zone_(std::move(zone)),
      address_hash_(hash64(address_)),
      weight_(weight) {}

}  // namespace surge::lb
