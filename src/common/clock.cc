#include "common/clock.h"

namespace surge {

SteadyClock& SteadyClock::instance() {
  static SteadyClock clock;
  return clock;
}

}  // namespace surge
