// sherpa-onnx's build script links its shared libraries but cannot set the rpath of other packages' binaries.
fn main() {
    println!("cargo:rerun-if-env-changed=SHERPA_ONNX_LIB_DIR");
    let lib_dir = std::env::var("SHERPA_ONNX_LIB_DIR").unwrap_or_default();
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN:{lib_dir}");
}
