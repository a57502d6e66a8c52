// config: umbrella header — Node (YAML with file:line:col errors), units (durations, sizes),
// did-you-mean suggestions. See node.h, units.h, suggest.h.
#pragma once

#include "config/node.h"
#include "config/suggest.h"
#include "config/units.h"
