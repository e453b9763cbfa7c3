// from_vector (tensor.hpp): the creation function that copies caller's data.
#include <xtensor/xadapt.hpp>

#include "engine.hpp"
#include "instantiate.hpp"
#include "tensor.hpp"

namespace rwd {

template <class T>
Tensor<T> from_vector(const std::vector<T>& values, const Shape& shape, bool requires_grad) {
  std::size_t count = 1;
  for (std::size_t extent : shape) count *= extent;
  if (values.size() != count)
    throw Error("from_vector: " + std::to_string(values.size()) + " values for shape " + format_shape(shape) + " (" +
                std::to_string(count) + " elements)");
  return Tensor<T>(xt::xarray<T>(xt::adapt(values, shape)), requires_grad);
}

#define REWIND_INSTANTIATE(T) template Tensor<T> from_vector<T>(const std::vector<T>&, const Shape&, bool);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
