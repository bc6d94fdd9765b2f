// The echo canceller is speexdsp (Debian libspeexdsp-dev, installed by `cargo xtask setup`).
fn main() {
    println!("cargo:rustc-link-lib=speexdsp");
}
