// Sets a Sequential's observer for one scope and puts the previous one back, also when the scope
// is left by an exception, so that a probe inside training leaves the training observer in place.
#pragma once

#include "relulab/nn/sequential.hpp"

namespace relulab::diag {

class ObserverScope {
 public:
  ObserverScope(nn::Sequential& net, nn::SequentialObserver* observer)
      : net_(net), previous_(net.observer()) {
    net_.set_observer(observer);
  }
  ~ObserverScope() { net_.set_observer(previous_); }
  ObserverScope(const ObserverScope&) = delete;
  ObserverScope& operator=(const ObserverScope&) = delete;

 private:
  nn::Sequential& net_;
  nn::SequentialObserver* previous_;
};

}  // namespace relulab::diag
