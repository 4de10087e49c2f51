package dev.pier.crypto;

import dev.pier.config.ConfigException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;

/**
 * The AES-256 key that protects secrets at rest. Comes from configuration ({@code PIER_MASTER_KEY},
 * base64) or from {@code master.key} in the data directory, which the first start creates with mode 0600.
 */
public final class MasterKey {
    static final String FILE = "master.key";
    private final byte[] key;
    private final Path createdFile;

    private MasterKey(byte[] key, Path createdFile) {
        this.key = key;
        this.createdFile = createdFile;
    }

    public static MasterKey load(Path dataDir, Optional<String> configured) {
        return load(dataDir, configured, true);
    }

    /**
     * The configured key, or the one in {@code master.key}. With {@code mayCreate} false (a data
     * directory that already holds a database) a missing key file is an error: a new key would not open
     * the database's secrets.
     */
    public static MasterKey load(Path dataDir, Optional<String> configured, boolean mayCreate) {
        if (configured.isPresent()) {
            return new MasterKey(decode(configured.get(), "PIER_MASTER_KEY"), null);
        }
        Path file = dataDir.resolve(FILE);
        try {
            DataDirectory.create(dataDir);
            Path created = null;
            if (!Files.exists(file)) {
                if (!mayCreate) {
                    throw new ConfigException("the data directory " + dataDir + " holds a database but no " + FILE
                            + "; restore the key file from your backup or set PIER_MASTER_KEY");
                }
                byte[] fresh = new byte[32];
                new SecureRandom().nextBytes(fresh);
                try {
                    // Created with 0600 from the first byte, never widened afterwards.
                    Files.createFile(
                            file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    Files.writeString(file, Base64.getEncoder().encodeToString(fresh) + "\n", StandardOpenOption.WRITE);
                    created = file;
                } catch (FileAlreadyExistsException raced) {
                    // another process (the CLI or a second server) created it first: use theirs
                }
            }
            return new MasterKey(
                    decode(Files.readString(file, StandardCharsets.US_ASCII).trim(), file.toString()), created);
        } catch (IOException e) {
            throw new ConfigException("cannot read or create the master key " + file + ": " + e.getMessage());
        }
    }

    public static MasterKey of(byte[] key) {
        return new MasterKey(key.clone(), null);
    }

    private static byte[] decode(String b64, String source) {
        byte[] k;
        try {
            k = Base64.getDecoder().decode(b64);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("master key in " + source + " is not base64");
        }
        if (k.length != 32) {
            throw new ConfigException("master key in " + source + " must be 32 bytes (256 bits), got " + k.length);
        }
        return k;
    }

    /**
     * Removes the key file this process just wrote, when the database turned out to belong to another
     * key: the next start then reports the missing file again instead of trusting the new key.
     */
    public void discardIfCreated() {
        if (createdFile != null) {
            try {
                Files.deleteIfExists(createdFile);
            } catch (IOException ignored) {
                // the error being reported already names the cause
            }
        }
    }

    byte[] bytes() {
        return key;
    }

    /** A secret derived for one purpose, so the master key itself is never handed to anything else. */
    public String derive(String purpose) {
        return Hashing.hmacSha256Hex(key, purpose);
    }
}
