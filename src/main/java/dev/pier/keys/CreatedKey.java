package dev.pier.keys;

/** A key just created: the only moment its value exists outside the caller's hands. */
public record CreatedKey(ApiKey key, String value) {}
