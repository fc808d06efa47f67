/// Placeholder until the C ABI lands (issue 4).
let secateurVersion = "0.1.0"
