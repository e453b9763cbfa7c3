#!/usr/bin/python3
"""Reference values for tests/test_recurrent_reference.cpp, computed by PyTorch.

Run from the repository root with torch 1.13 (Debian's python3-torch):
    /usr/bin/python3 tests/data/make_recurrent_reference.py > tests/data/recurrent_reference.txt

Every case builds a torch module with torch's default init (seeded), in double
precision, runs it on seeded random inputs and writes the parameters (in
named_parameters() order, with their names), the inputs and the outputs.
The C++ test loads the parameters into the matching Rewind module and compares.

Format, one record per line, whitespace separated:
    case <name> <module> <input_size> <hidden_size> <num_layers> <bidirectional> <batch_first> <bias> <nonlinearity>
    param <name> <ndim> <dims...> <values...>     parameters, named_parameters() order
    input <name> <ndim> <dims...> <values...>     x, h0, c0
    lengths <count> <values...>                   variable lengths (pack_padded_sequence)
    expect <name> <ndim> <dims...> <values...>    output, h_n, c_n (cells: h, c)
    end
"""
import torch

torch.set_default_dtype(torch.float64)


def tensor_line(kind, name, t):
    t = t.detach().contiguous()
    dims = " ".join(str(d) for d in t.shape)
    values = " ".join(repr(float(v)) for v in t.reshape(-1))
    return f"{kind} {name} {t.dim()} {dims} {values}"


def case_header(name, module, input_size, hidden_size, num_layers=1, bidirectional=False, batch_first=False,
                bias=True, nonlinearity="tanh"):
    print(f"case {name} {module} {input_size} {hidden_size} {num_layers} {int(bidirectional)} "
          f"{int(batch_first)} {int(bias)} {nonlinearity}")


def layer_case(name, kind, seed, T=4, B=2, lengths=None, **options):
    torch.manual_seed(seed)
    input_size, hidden_size = 3, 2
    module = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind](input_size, hidden_size,
                                                                                    **options)
    L = options.get("num_layers", 1)
    D = 2 if options.get("bidirectional", False) else 1
    batch_first = options.get("batch_first", False)
    x = torch.randn((B, T, input_size) if batch_first else (T, B, input_size))
    h0 = torch.randn(L * D, B, hidden_size)
    c0 = torch.randn(L * D, B, hidden_size)
    case_header(name, kind, input_size, hidden_size, L, D == 2, batch_first, options.get("bias", True),
                options.get("nonlinearity", "tanh"))
    for pname, p in module.named_parameters():
        print(tensor_line("param", pname, p))
    print(tensor_line("input", "x", x))
    print(tensor_line("input", "h0", h0))
    if kind == "LSTM":
        print(tensor_line("input", "c0", c0))
    state = (h0, c0) if kind == "LSTM" else h0
    if lengths is None:
        output, final = module(x, state)
    else:
        print("lengths", len(lengths), " ".join(str(n) for n in lengths))
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first,
                                                         enforce_sorted=False)
        packed_output, final = module(packed, state)
        output, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_output, batch_first=batch_first, total_length=T)
    print(tensor_line("expect", "output", output))
    if kind == "LSTM":
        print(tensor_line("expect", "h_n", final[0]))
        print(tensor_line("expect", "c_n", final[1]))
    else:
        print(tensor_line("expect", "h_n", final))
    print("end")


def cell_case(name, kind, seed, B=3, **options):
    torch.manual_seed(seed)
    input_size, hidden_size = 3, 2
    module = {"RNNCell": torch.nn.RNNCell, "LSTMCell": torch.nn.LSTMCell, "GRUCell": torch.nn.GRUCell}[kind](
        input_size, hidden_size, **options)
    x, h, c = torch.randn(B, input_size), torch.randn(B, hidden_size), torch.randn(B, hidden_size)
    case_header(name, kind, input_size, hidden_size, bias=options.get("bias", True),
                nonlinearity=options.get("nonlinearity", "tanh"))
    for pname, p in module.named_parameters():
        print(tensor_line("param", pname, p))
    print(tensor_line("input", "x", x))
    print(tensor_line("input", "h0", h))
    if kind == "LSTMCell":
        print(tensor_line("input", "c0", c))
        h_next, c_next = module(x, (h, c))
        print(tensor_line("expect", "h", h_next))
        print(tensor_line("expect", "c", c_next))
    else:
        print(tensor_line("expect", "h", module(x, h)))
    print("end")


print(f"# made by tests/data/make_recurrent_reference.py with torch {torch.__version__}")
cell_case("rnn_cell_relu", "RNNCell", 1, nonlinearity="relu")
cell_case("lstm_cell", "LSTMCell", 2)
cell_case("gru_cell", "GRUCell", 3)
cell_case("gru_cell_no_bias", "GRUCell", 4, bias=False)
layer_case("lstm_2layer_bidirectional", "LSTM", 5, num_layers=2, bidirectional=True)
layer_case("lstm_2layer_bidirectional_lengths", "LSTM", 5, lengths=[4, 2], num_layers=2, bidirectional=True)
layer_case("gru_2layer_bidirectional_batch_first", "GRU", 6, num_layers=2, bidirectional=True, batch_first=True)
layer_case("gru_lengths_batch_first", "GRU", 7, B=3, lengths=[2, 4, 3], batch_first=True, bidirectional=True)
layer_case("rnn_tanh_2layer", "RNN", 8, num_layers=2)
layer_case("rnn_relu_no_bias_bidirectional", "RNN", 9, nonlinearity="relu", bias=False, bidirectional=True)
layer_case("lstm_no_bias", "LSTM", 10, bias=False)
