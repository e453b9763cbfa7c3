// Thread-local switches of the autograd engine: whether ops are recorded, and
// whether every op and every backward is checked for NaN/Inf (anomaly mode).
#pragma once

namespace rwd {

struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

// Within its scope ops are not recorded (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Sets recording on or off for its scope (the engine uses it for create_graph).
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
  ~GradModeGuard() { GradMode::set_enabled(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

struct AnomalyMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

// Within its scope, every op's output and every backward's gradients are
// checked for NaN/Inf; the first one found throws, naming the op.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard() : previous_(AnomalyMode::is_enabled()) { AnomalyMode::set_enabled(true); }
  ~DetectAnomalyGuard() { AnomalyMode::set_enabled(previous_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace rwd
