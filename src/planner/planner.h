// planner: capacity models for `surge plan` — the classic formula reproduced exactly, Little's
// law, Erlang C (M/M/c), exact M/D/c, Allen–Cunneen (G/G/c), binomial availability, cost, and the
// sizing that ties them together. Pure functions; links surge_common only. See
// docs/planning.md (user guide) and docs/design/planner.md (numerics).
#pragma once

#include "planner/allen_cunneen.h"
#include "planner/availability.h"
#include "planner/cost.h"
#include "planner/erlang.h"
#include "planner/littles_law.h"
#include "planner/mdc.h"
#include "planner/plan.h"
#include "planner/classic_formula.h"
#include "planner/sizing.h"
