#include "checkpoint_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "engine.hpp"

namespace rwd {

namespace {

constexpr std::uint64_t saturated = std::numeric_limits<std::uint64_t>::max();
// Revolve's nesting of recomputations is r deep (r: the smallest with l <= β(s, r)).
constexpr std::size_t max_recomputations = 64;

// The smallest r with l <= β(s, r), by β(s, r) = β(s, r - 1)·(s + r)/r.
std::size_t repetitions(std::size_t units, std::size_t slots) {
  std::uint64_t capacity = 1;
  std::size_t r = 0;
  for (; capacity < units; ++r) {
    const std::uint64_t factor = slots + r + 1;
    capacity = capacity > saturated / factor ? saturated : capacity * factor / (r + 1);
  }
  return r;
}

// Steps in units [first, last) of `schedule`.
std::uint64_t steps_in(const CheckpointSchedule& schedule, std::size_t first, std::size_t last) {
  const std::uint64_t end = std::min<std::uint64_t>(std::uint64_t(last) * schedule.unit, schedule.steps);
  return end - std::uint64_t(first) * schedule.unit;
}

// The untaped steps of revolve over units [first, last) with `slots`: the
// executor's recursion (nn/checkpointed_unroll.cpp), counted.
std::uint64_t binomial_walk(const CheckpointSchedule& schedule, std::size_t first, std::size_t last, std::size_t slots) {
  std::uint64_t total = 0;
  for (; last - first > 1; --slots) {  // the right parts, one slot fewer each
    const std::size_t m = binomial_split(last - first, slots);
    total += steps_in(schedule, first, first + m) + binomial_walk(schedule, first, first + m, slots);
    first += m;
  }
  return total;
}

}  // namespace

std::uint64_t binomial_capacity(std::size_t slots, std::size_t recomputations) {
  // C(s + r, s) = Π_{i=1..r} (s + i) / i, exact at every step.
  std::uint64_t value = 1;
  for (std::size_t i = 1; i <= recomputations; ++i) {
    const std::uint64_t factor = slots + i;
    if (value > saturated / factor) return saturated;
    value = value * factor / i;
  }
  return value;
}

std::uint64_t binomial_forward_units(std::size_t units, std::size_t slots) {
  if (units <= 1) return 0;
  if (slots == 0) throw Error("binomial_forward_units: no slots for " + std::to_string(units) + " units");
  const std::size_t r = repetitions(units, slots);
  return std::uint64_t(r) * units - binomial_capacity(slots + 1, r - 1);
}

std::size_t binomial_split(std::size_t units, std::size_t slots) {
  if (units < 2 || slots == 0)
    throw Error("binomial_split: needs at least 2 units and 1 slot, got " + std::to_string(units) + " and " +
                std::to_string(slots));
  if (slots == 1) return units - 1;
  // The left part must take r - 1 recomputations at most and at least r - 2
  // (its slope), the right part r: m >= β(s, r - 2) and l - m <= β(s - 1, r).
  const std::size_t r = repetitions(units, slots);
  const std::uint64_t left_floor = r >= 2 ? binomial_capacity(slots, r - 2) : 1;
  const std::uint64_t right_room = binomial_capacity(slots - 1, r);
  const std::uint64_t by_right = units > right_room ? units - right_room : 1;
  return static_cast<std::size_t>(std::min<std::uint64_t>(units - 1, std::max({std::uint64_t(1), left_floor, by_right})));
}

std::uint64_t CheckpointSchedule::recomputed_steps() const {
  if (kind == Kind::segments) return units() > 1 ? steps_in(*this, 0, units() - 1) : 0;
  return binomial_walk(*this, 0, units(), slots);
}

std::size_t CheckpointSchedule::peak_states() const {
  return kind == Kind::segments ? units() : std::min(slots, units());
}

std::string CheckpointSchedule::describe() const {
  const std::uint64_t recomputed = recomputed_steps();
  const std::string how = kind == Kind::segments ? "segments of " + std::to_string(unit) + " steps"
                                                : "binomial (revolve), " + std::to_string(slots) + " slots, units of " +
                                                      std::to_string(unit) + (unit == 1 ? " step" : " steps");
  char per_step[32];
  std::snprintf(per_step, sizeof per_step, "%.2f", steps ? double(recomputed) / double(steps) : 0.0);
  return how + ": " + std::to_string(peak_states()) + " states kept at most, " + std::to_string(recomputed) +
         " steps recomputed (" + per_step + " per step)";
}

CheckpointSchedule segment_schedule(std::size_t steps, std::size_t segment) {
  const auto root = static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(steps))));
  return {CheckpointSchedule::Kind::segments, steps, segment ? segment : std::max<std::size_t>(1, root), 0};
}

CheckpointSchedule binomial_schedule(std::size_t steps, std::size_t slots, std::size_t unit) {
  if (slots == 0 || unit == 0)
    throw Error("binomial_schedule: slots (" + std::to_string(slots) + ") and unit (" + std::to_string(unit) +
                ") must be >= 1");
  CheckpointSchedule schedule{CheckpointSchedule::Kind::binomial, steps, unit, slots};
  if (const std::size_t r = repetitions(schedule.units(), slots); r > max_recomputations)
    throw Error("binomial_schedule: " + std::to_string(slots) + " slots for " + std::to_string(schedule.units()) +
                " units would run each unit up to " + std::to_string(r) + " times (at most " +
                std::to_string(max_recomputations) + "); give more slots or longer units");
  return schedule;
}

CheckpointSchedule schedule_for_slots(std::size_t steps, std::size_t slots) {
  const CheckpointSchedule segments = segment_schedule(steps);
  return segments.peak_states() <= slots ? segments : binomial_schedule(steps, slots);
}

CheckpointSchedule schedule_for_budget(std::size_t steps, std::size_t budget, std::size_t state_bytes,
                                       std::size_t step_bytes) {
  const CheckpointSchedule segments = segment_schedule(steps);
  if (segments.peak_states() * state_bytes + segments.unit * step_bytes <= budget) return segments;
  std::optional<CheckpointSchedule> best;
  std::uint64_t best_cost = saturated;
  for (std::size_t unit = 1; unit <= steps && unit * step_bytes + state_bytes <= budget; unit *= 2) {
    const std::size_t slots = (budget - unit * step_bytes) / std::max<std::size_t>(1, state_bytes);
    CheckpointSchedule candidate{CheckpointSchedule::Kind::binomial, steps, unit, slots};
    if (repetitions(candidate.units(), slots) > max_recomputations) continue;
    // Fewest recomputed steps; on a tie the longer unit (fewer nodes).
    if (const std::uint64_t cost = candidate.recomputed_steps(); cost <= best_cost) best = candidate, best_cost = cost;
  }
  if (!best)
    throw Error("checkpoint memory of " + std::to_string(budget) + " bytes holds no schedule for " +
                std::to_string(steps) + " steps (one state takes " + std::to_string(state_bytes) +
                " bytes, one step's records about " + std::to_string(step_bytes) + "; " + std::to_string(steps) +
                " steps recomputed at most " + std::to_string(max_recomputations) + " times each need more)");
  return *best;
}

}  // namespace rwd
