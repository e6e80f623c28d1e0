// Learning-rate schedules: the learning rate of every optimiser step, as a pure function of the
// step index (0 = the first step), so that a resumed run needs only its step count.
//
//   constant(lr)                  lr
//   step(lr, s, gamma)            lr * gamma^floor(t / s)          (torch StepLR, counted in steps)
//   cosine(lr, T, eta_min)        eta_min + (lr - eta_min) * (1 + cos(pi * min(t, T) / T)) / 2
//                                 (torch CosineAnnealingLR's closed form; held at eta_min after T)
//   with_warmup(inner, W)         t <  W: inner.lr_at(0) * (t + 1) / W   (lr/W, 2lr/W, ..., lr)
//                                 t >= W: inner.lr_at(t - W)   (the inner schedule starts after the
//                                 warmup, so a cosine over T - W steps ends at step T)
//
// parse_lr_schedule reads the CLI's text (":"-separated; numbers in order, options as key=value):
//   constant                      the base lr throughout
//   step:E[:G]                    x G (default 0.1, as StepLR) every E epochs
//   cosine[:eta_min=X]            cosine from the base lr to X (default 0) over all training steps
//   ...:warmup=W                  any of them after W warmup steps (W < total steps)
// e.g. "step:10:0.1", "cosine:warmup=500", "step:30:0.5:warmup=100".
//
// Error behaviour: the factories throw std::invalid_argument on a negative or non-finite lr, a
// step size, total or warmup step count out of range (the message names it); parse_lr_schedule
// returns invalid_argument quoting the text and naming the bad part, listing the schedules when
// the name is unknown. lr_at treats a negative step as step 0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "relulab/status.hpp"

namespace relulab::nn {

class LrSchedule {
 public:
  static LrSchedule constant(float lr);
  // step_size_steps >= 1, gamma >= 0.
  static LrSchedule step(float lr, std::int64_t step_size_steps, float gamma);
  // total_steps >= 1, 0 <= eta_min.
  static LrSchedule cosine(float lr, std::int64_t total_steps, float eta_min = 0);
  // warmup_steps >= 0 (0 = none); replaces any warmup `schedule` already has.
  static LrSchedule with_warmup(LrSchedule schedule, std::int64_t warmup_steps);

  float lr_at(std::int64_t step) const;
  // "cosine(lr=0.1, total_steps=9000, eta_min=0), warmup 500 steps".
  std::string describe() const;

 private:
  enum class Kind { kConstant, kStep, kCosine };
  LrSchedule(Kind kind, float lr) : kind_(kind), lr_(lr) {}

  Kind kind_;
  float lr_;
  float gamma_ = 1;          // kStep
  float eta_min_ = 0;        // kCosine
  std::int64_t period_ = 1;  // kStep: step size; kCosine: total steps
  std::int64_t warmup_steps_ = 0;
};

// `text` as in the header comment; base_lr >= 0, steps_per_epoch >= 1, total_steps >= 1.
Result<LrSchedule> parse_lr_schedule(std::string_view text, float base_lr,
                                     std::int64_t steps_per_epoch, std::int64_t total_steps);

}  // namespace relulab::nn
