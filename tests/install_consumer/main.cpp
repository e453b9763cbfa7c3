// d(x³)/dx at x = √2 is 3·2 = 6.
#include <cmath>
#include <iostream>

#include <rewind/rewind.hpp>

int main() {
  auto x = rwd::TensorD::scalar(std::sqrt(2.0), /*requires_grad=*/true);
  auto y = rwd::pow(x, 3.0);
  y.backward();
  std::cout << "gradient " << std::round(x.grad().item() * 1e6) / 1e6 << "\n";
}
