#include "module.hpp"

#include <sstream>

#include "../autograd/engine.hpp"

namespace rwd::nn {

template <class T>
void Module<T>::check_new_name(const std::string& name) const {
  if (name.empty() || name.find('.') != std::string::npos)
    throw Error(type_name() + ": invalid parameter or module name '" + name + "' (empty or containing '.')");
  for (const auto& [existing, _] : parameters_)
    if (existing == name) throw Error(type_name() + ": '" + name + "' is already registered");
  for (const auto& [existing, _] : children_)
    if (existing == name) throw Error(type_name() + ": '" + name + "' is already registered");
}

template <class T>
Tensor<T> Module<T>::register_parameter(const std::string& name, Tensor<T> value) {
  check_new_name(name);
  if (!value.defined()) throw Error(type_name() + ": parameter '" + name + "' is undefined");
  if (!value.is_leaf()) value = value.detach();
  value.requires_grad_(true);
  parameters_.emplace_back(name, value);
  return value;
}

template <class T>
void Module<T>::collect(const std::string& prefix, std::vector<NamedTensor>& out) const {
  for (const auto& [name, tensor] : parameters_) out.emplace_back(prefix + name, tensor);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

template <class T>
std::vector<typename Module<T>::NamedTensor> Module<T>::named_parameters() const {
  std::vector<NamedTensor> out;
  collect("", out);
  return out;
}

template <class T>
std::vector<Tensor<T>> Module<T>::parameters() const {
  std::vector<Tensor<T>> out;
  for (auto& [_, tensor] : named_parameters()) out.push_back(tensor);
  return out;
}

template <class T>
Tensor<T> Module<T>::parameter(const std::string& dotted_name) const {
  for (auto& [name, tensor] : named_parameters())
    if (name == dotted_name) return tensor;
  throw Error(type_name() + ": no parameter named '" + dotted_name + "'");
}

template <class T>
std::size_t Module<T>::parameter_count() const {
  std::size_t count = 0;
  for (auto& [_, tensor] : named_parameters()) count += tensor.numel();
  return count;
}

template <class T>
void Module<T>::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

template <class T>
void Module<T>::zero_grad() {  // walks the tree as train() does: no list of names built every step
  for (auto& [_, tensor] : parameters_) tensor.zero_grad();
  for (auto& [_, child] : children_) child->zero_grad();
}

template <class T>
std::string Module<T>::to_string() const {
  std::ostringstream out;
  out << type_name() << "(" << extra_repr();
  if (!children_.empty()) {
    out << "\n";
    for (const auto& [name, child] : children_) {
      std::string inner = child->to_string();
      std::string indented;
      for (char c : inner) indented += c == '\n' ? std::string("\n  ") : std::string(1, c);
      out << "  (" << name << "): " << indented << "\n";
    }
  }
  out << ")";
  return out.str();
}

template class Module<float>;
template class Module<double>;

}  // namespace rwd::nn
