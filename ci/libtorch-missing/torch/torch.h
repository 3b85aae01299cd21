// Found only when libtorch is not where LIBTORCH points: .cargo/config.toml puts this folder on
// CPLUS_INCLUDE_PATH, which the C++ compiler searches after the -I folders of tch's build
// (torch-sys), so a real libtorch's torch/torch.h always wins.
#error "libtorch was not found where LIBTORCH points (third_party/libtorch by default). Run `bash ci/setup-libtorch.sh` from the repository root first: it installs libtorch 2.11.0 once per machine (from the PyPI wheel torch==2.11.0) and links it at third_party/libtorch. To use your own libtorch 2.11.0, set LIBTORCH to its folder."
