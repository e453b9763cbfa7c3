// state_dict: save/load of a module's parameters by dotted name, in memory and
// through .npz; all-or-nothing loads with every problem listed.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>

#include <rewind/rewind.hpp>

#include "test_support.hpp"

using namespace rwd;
namespace fs = std::filesystem;

using test_support::TempDir;

namespace {

// Embedding -> Linear: parameters "embed.weight", "head.weight", "head.bias".
template <class T>
struct TinyModel : nn::Module<T> {
  std::shared_ptr<nn::Embedding<T>> embed;
  std::shared_ptr<nn::Linear<T>> head;
  TinyModel(Generator& gen, std::size_t vocab = 5, std::size_t dim = 3, std::size_t out = 2) {
    embed = this->register_module("embed", std::make_shared<nn::Embedding<T>>(vocab, dim, gen));
    head = this->register_module("head", std::make_shared<nn::Linear<T>>(dim, out, true, gen));
  }
  Tensor<T> forward(const std::vector<std::size_t>& tokens) const { return head->forward(embed->forward(tokens)); }
  std::string type_name() const override { return "TinyModel"; }
};

doctest::Contains contains(const std::string& text) { return doctest::Contains(text.c_str()); }

template <class T>
std::vector<xt::xarray<T>> values_of(const nn::Module<T>& module) {
  std::vector<xt::xarray<T>> values;
  for (const auto& p : module.parameters()) values.push_back(p.value());
  return values;
}

}  // namespace

TEST_SUITE("state_dict") {
  TEST_CASE("save then load into a differently initialised model: same values, same tensors, same outputs") {
    TempDir dir("state_round_trip");
    Generator gen_a(1), gen_b(2);
    TinyModel<float> source(gen_a), target(gen_b);
    REQUIRE(values_of<float>(source) != values_of<float>(target));
    const fs::path file = dir.path / "model.npz";
    nn::save_state_dict(source, file);

    // Handles taken before the load (as an optimizer holds them) see the new values.
    const auto held = target.parameters();
    const float* storage = target.head->weight.data();
    const auto result = nn::load_state_dict(target, file);
    CHECK(result.missing_keys.empty());
    CHECK(result.unexpected_keys.empty());
    CHECK(values_of<float>(target) == values_of<float>(source));
    for (std::size_t i = 0; i < held.size(); ++i) CHECK(held[i].value() == source.parameters()[i].value());
    CHECK(target.head->weight.data() == storage);  // copied into the existing buffer
    CHECK(target.forward({0, 4, 2}).value() == source.forward({0, 4, 2}).value());
  }

  TEST_CASE("the file holds one float32/float64 array per parameter under its dotted PyTorch name") {
    TempDir dir("state_names");
    Generator gen(3);
    TinyModel<double> model(gen);
    nn::save_state_dict(model, dir.path / "model.npz");
    const auto entries = io::read_npz(dir.path / "model.npz");
    std::vector<std::string> names;
    for (const auto& [name, array] : entries) {
      names.push_back(name);
      CHECK(array.dtype == io::DType::Float64);
    }
    CHECK(names == std::vector<std::string>{"embed.weight", "head.bias", "head.weight"});
    CHECK(entries.at("head.weight").shape == Shape{2, 3});
    CHECK(io::npz_get<double>(entries, "embed.weight") == model.embed->weight.value());

    TinyModel<float> single(gen);
    nn::save_state_dict(single, dir.path / "single.npz");
    CHECK(io::read_npz(dir.path / "single.npz").at("head.bias").dtype == io::DType::Float32);
  }

  TEST_CASE("in memory: state_dict copies, load_state_dict writes back in place") {
    Generator gen(4);
    TinyModel<double> model(gen);
    auto state = nn::state_dict(model);
    REQUIRE(state.size() == 3);
    CHECK(state.at("head.bias") == model.head->bias.value());
    state.at("head.bias") = xt::xarray<double>{7.0, -7.0};
    CHECK(model.head->bias.value() != state.at("head.bias"));  // a copy, not the live tensor
    const auto bias = model.head->bias;
    nn::load_state_dict(model, state);
    CHECK(bias.value() == xt::xarray<double>{7.0, -7.0});
  }

  TEST_CASE("strict load lists every missing, unexpected and mis-shaped name, and loads nothing") {
    Generator gen(5);
    TinyModel<double> model(gen);
    const auto before = values_of<double>(model);
    auto state = nn::state_dict(model);
    state.erase("head.bias");
    state.erase("embed.weight");
    state["head.extra"] = xt::xarray<double>{1.0};
    state["head.weight"] = xt::zeros<double>({3, 2});  // transposed shape
    CHECK_THROWS_WITH_AS(nn::load_state_dict(model, state),
                         doctest::Contains("load_state_dict: error(s) loading the state dict into TinyModel (nothing was loaded):\n"
                                           "  missing keys: embed.weight, head.bias\n"
                                           "  unexpected keys: head.extra\n"
                                           "  size mismatch for head.weight: [3, 2] in the state dict, [2, 3] in the module"),
                         Error);
    CHECK(values_of<double>(model) == before);

    // Only the shape is wrong: still nothing is loaded, even the entries that fit.
    auto shapes = nn::state_dict(model);
    shapes["head.bias"] = xt::zeros<double>({3});
    shapes["embed.weight"] = xt::zeros<double>({5, 3});
    CHECK_THROWS_WITH_AS(nn::load_state_dict(model, shapes), doctest::Contains("size mismatch for head.bias: [3] in the state dict"),
                         Error);
    CHECK(values_of<double>(model) == before);
  }

  TEST_CASE("non-strict load skips and reports missing and unexpected names, but not wrong shapes") {
    Generator gen(6);
    TinyModel<double> model(gen);
    nn::StateDict<double> state{{"head.bias", xt::xarray<double>{1.0, 2.0}}, {"decoder.weight", xt::xarray<double>{0.0}}};
    const auto embed_before = model.embed->weight.value();
    const auto result = nn::load_state_dict(model, state, /*strict=*/false);
    CHECK(result.missing_keys == std::vector<std::string>{"embed.weight", "head.weight"});
    CHECK(result.unexpected_keys == std::vector<std::string>{"decoder.weight"});
    CHECK(model.head->bias.value() == xt::xarray<double>{1.0, 2.0});
    CHECK(model.embed->weight.value() == embed_before);

    state["head.bias"] = xt::xarray<double>{1.0};
    CHECK_THROWS_WITH_AS(nn::load_state_dict(model, state, false), doctest::Contains("size mismatch for head.bias"), Error);
  }

  TEST_CASE("loading a file: dtype and size mismatches name the file; a missing file is an Error") {
    TempDir dir("state_errors");
    Generator gen(7);
    TinyModel<float> single(gen);
    TinyModel<double> model(gen);
    const auto before = values_of<double>(model);
    const fs::path file = dir.path / "single.npz";
    nn::save_state_dict(single, file);
    CHECK_THROWS_WITH_AS(nn::load_state_dict(model, file),
                         contains("load_state_dict: error(s) loading " + file.string() +
                                  " into TinyModel (nothing was loaded):\n"
                                  "  dtype mismatch for embed.weight: float32 in " + file.string() +
                                  ", float64 in the module"),
                         Error);
    CHECK(values_of<double>(model) == before);

    TinyModel<double> wider(gen, 5, 4, 2);
    nn::save_state_dict(wider, dir.path / "wider.npz");
    CHECK_THROWS_WITH_AS(nn::load_state_dict(model, dir.path / "wider.npz"),
                         doctest::Contains("size mismatch for embed.weight: [5, 4] in"), Error);
    CHECK(values_of<double>(model) == before);

    CHECK_THROWS_WITH_AS(nn::load_state_dict(model, dir.path / "absent.npz"),
                         contains((dir.path / "absent.npz").string() + ": no such file"), Error);
  }
}
