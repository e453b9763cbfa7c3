// Checkpoint schedules: which states of a T-step unroll are kept and which
// steps are run again in backward, as a pure function of T and the memory.
//
// A schedule works on units of `unit` steps (a unit is the smallest piece run
// on the tape: its steps' records live together during its backward):
//   segments  ⌈T/k⌉ segments of k = unit steps (k ≈ √T): the state at each
//             segment's start is kept, each segment but the last is run once
//             more, taped, in backward (Chen et al. 2016);
//   binomial  Griewank's revolve ("Algorithm 799", Griewank & Walther 2000):
//             at most `slots` states kept at once; a range of l units with s
//             slots first runs m = split(l, s) units untaped, keeps the state
//             there, reverses the other l - m units with s - 1 slots, then the
//             first m with s. With s slots and r recomputations of each unit,
//             β(s, r) = C(s + r, s) units fit, and the units run untaped
//             number r·l - β(s + 1, r - 1) for β(s, r-1) < l <= β(s, r): the
//             fewest any schedule with s slots can do.
// Either way every step also runs once on the tape (the steps' own forward
// with recording), which the counts below leave out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rwd {

struct CheckpointSchedule {
  enum class Kind { segments, binomial };
  Kind kind = Kind::segments;
  std::size_t steps = 0;  // T
  std::size_t unit = 1;   // steps per unit (segments: the segment length)
  std::size_t slots = 0;  // binomial: the most states kept at once (the starting state among them)

  std::size_t units() const { return unit ? (steps + unit - 1) / unit : 0; }
  // The steps run without recording over forward and backward: the recomputations.
  std::uint64_t recomputed_steps() const;
  // The most states kept at once (checkpoints' starting states).
  std::size_t peak_states() const;
  // "binomial: 32 slots, units of 1 step; 433955 steps recomputed (4.34 per step)"
  std::string describe() const;
};

// β(s, r) = C(s + r, s), saturating at UINT64_MAX.
std::uint64_t binomial_capacity(std::size_t slots, std::size_t recomputations);
// The fewest units run untaped to reverse l units with s >= 1 slots:
// r·l - β(s + 1, r - 1), r the smallest with l <= β(s, r); 0 for l <= 1.
std::uint64_t binomial_forward_units(std::size_t units, std::size_t slots);
// Where revolve keeps its next state in a range of l >= 2 units with s >= 1
// slots: an m in [1, l) with m + t(m, s) + t(l - m, s - 1) = t(l, s).
std::size_t binomial_split(std::size_t units, std::size_t slots);

// Segments of `segment` steps (0: ⌈√T⌉).
CheckpointSchedule segment_schedule(std::size_t steps, std::size_t segment = 0);
// Revolve with `slots` >= 1 states over units of `unit` steps.
CheckpointSchedule binomial_schedule(std::size_t steps, std::size_t slots, std::size_t unit = 1);
// At most `slots` states: ⌈√T⌉-step segments when their ⌈T/⌈√T⌉⌉ states fit,
// else revolve over single steps.
CheckpointSchedule schedule_for_slots(std::size_t steps, std::size_t slots);
// At most `budget` bytes for the kept states (state_bytes each) and one unit's
// records (step_bytes per step): √T segments when they fit, else the revolve
// (slots, unit) that fits with the fewest recomputed steps. Throws if not even
// one state and one step fit.
CheckpointSchedule schedule_for_budget(std::size_t steps, std::size_t budget, std::size_t state_bytes,
                                       std::size_t step_bytes);

}  // namespace rwd
