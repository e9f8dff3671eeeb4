fn main() {
    std::process::exit(superbound::cli::main());
}
