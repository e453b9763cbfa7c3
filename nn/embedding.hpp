// Embedding: a lookup table of vectors, PyTorch's nn.Embedding.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "../autograd/random.hpp"
#include "module.hpp"

namespace rwd::nn {

template <class T>
class Embedding : public Module<T> {
 public:
  // weight [num_embeddings, embedding_dim] drawn from N(0, 1), as PyTorch.
  Embedding(std::size_t num_embeddings, std::size_t embedding_dim, Generator& gen = default_generator());

  // Rows of weight picked by `indices`: [indices.size(), embedding_dim].
  Tensor<T> forward(const std::vector<std::size_t>& indices) const;
  // The same, laid out as `shape` + [embedding_dim] (e.g. shape [T, B] -> [T, B, dim]);
  // the product of `shape` must equal indices.size() (indices in C order).
  Tensor<T> forward(const std::vector<std::size_t>& indices, const Shape& shape) const;
  Tensor<T> operator()(const std::vector<std::size_t>& indices) const { return forward(indices); }

  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;

  std::size_t num_embeddings() const { return num_embeddings_; }
  std::size_t embedding_dim() const { return embedding_dim_; }

  Tensor<T> weight;  // [num_embeddings, embedding_dim]

 private:
  std::size_t num_embeddings_, embedding_dim_;
};

}  // namespace rwd::nn
