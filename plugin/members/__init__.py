"""Members, their platform identities, distributors and the invite bindings between them."""
