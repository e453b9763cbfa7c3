// The rewind program (placeholder main; subcommands grow in app/).
#include <cstdio>

#include <rewind/rewind.hpp>

int main() {
  using namespace rwd;
  auto x = TensorD::scalar(2.0, true);
  auto y = tanh(x) * x;
  y.backward();
  std::printf("%g\n", x.grad().item());
}
