// Module: a model component that owns named parameters and named submodules.
//
// Parameters are registered by name at construction (PyTorch's
// register_parameter), and submodules likewise, so printing, saving, loading
// and optimizers all walk one ordered list with dotted names
// ("rnn.weight_ih_l0"). A parameter is a Tensor handle: the module's member
// and the registered entry share one node, so loading a value in place is
// seen by both.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../autograd/tensor.hpp"

namespace rwd::nn {

template <class T>
class Module {
 public:
  using NamedTensor = std::pair<std::string, Tensor<T>>;
  using NamedModule = std::pair<std::string, std::shared_ptr<Module<T>>>;

  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;  // parameters are shared handles: copying would alias them
  Module& operator=(const Module&) = delete;

  // The type's name as printed ("LSTM") and its settings ("10, 20, num_layers=2").
  virtual std::string type_name() const = 0;
  virtual std::string extra_repr() const { return ""; }

  // Every parameter, depth first in registration order, with dotted names.
  std::vector<NamedTensor> named_parameters() const;
  std::vector<Tensor<T>> parameters() const;
  // The parameter with this dotted name; throws naming it if there is none.
  Tensor<T> parameter(const std::string& dotted_name) const;
  const std::vector<NamedModule>& named_children() const { return children_; }
  std::size_t parameter_count() const;  // number of scalar weights

  // Training mode (dropout active) is the default; eval() turns it off, recursively.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  void zero_grad();  // drops every parameter's gradient

  // PyTorch-style structure: "RNNModel(\n  (rnn): LSTM(4, 8)\n  (head): Linear(...)\n)".
  std::string to_string() const;

 protected:
  // Registers a parameter (makes it require grad) and returns the handle to keep as a member.
  Tensor<T> register_parameter(const std::string& name, Tensor<T> value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    check_new_name(name);
    children_.emplace_back(name, module);
    return module;
  }

 private:
  void check_new_name(const std::string& name) const;
  void collect(const std::string& prefix, std::vector<NamedTensor>& out) const;
  std::vector<NamedTensor> parameters_;
  std::vector<NamedModule> children_;
  bool training_ = true;
};

}  // namespace rwd::nn
