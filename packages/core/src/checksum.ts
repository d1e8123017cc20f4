// Placeholder, replaced by the checksum implementation.
export {};
