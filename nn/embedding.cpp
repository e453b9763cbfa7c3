#include "embedding.hpp"

#include "../autograd/engine.hpp"
#include "../autograd/ops.hpp"

namespace rwd::nn {

template <class T>
Embedding<T>::Embedding(std::size_t num_embeddings, std::size_t embedding_dim, Generator& gen)
    : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {
  if (num_embeddings == 0 || embedding_dim == 0)
    throw Error("Embedding: num_embeddings and embedding_dim must be positive, got " +
                std::to_string(num_embeddings) + ", " + std::to_string(embedding_dim));
  weight = this->register_parameter("weight", randn<T>({num_embeddings, embedding_dim}, gen));
}

// y[k] = weight[indices[k]]       dweight[i] = Σ_{k: indices[k] = i} g[k]  (index_select's backward)
template <class T>
Tensor<T> Embedding<T>::forward(const std::vector<std::size_t>& indices) const {
  for (std::size_t k = 0; k < indices.size(); ++k)
    if (indices[k] >= num_embeddings_)
      throw Error("Embedding: index " + std::to_string(indices[k]) + " at position " + std::to_string(k) +
                  " is out of range for num_embeddings=" + std::to_string(num_embeddings_));
  return index_select(weight, 0, indices);
}

template <class T>
Tensor<T> Embedding<T>::forward(const std::vector<std::size_t>& indices, const Shape& shape) const {
  std::size_t count = 1;
  for (auto n : shape) count *= n;
  if (count != indices.size())
    throw Error("Embedding: shape " + format_shape(shape) + " holds " + std::to_string(count) + " indices, got " +
                std::to_string(indices.size()));
  Shape out_shape = shape;
  out_shape.push_back(embedding_dim_);
  return reshape(forward(indices), out_shape);
}

template <class T>
std::string Embedding<T>::extra_repr() const {
  return std::to_string(num_embeddings_) + ", " + std::to_string(embedding_dim_);
}

template class Embedding<float>;
template class Embedding<double>;

}  // namespace rwd::nn
