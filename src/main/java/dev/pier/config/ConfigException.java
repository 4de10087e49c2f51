package dev.pier.config;

/** A setting is missing or wrong; the message names the setting. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
