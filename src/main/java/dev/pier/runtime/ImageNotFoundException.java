package dev.pier.runtime;

/** The image is not on the engine (create) or the registry does not have it (pull). */
public final class ImageNotFoundException extends ContainerRuntimeException {
    private final String image;

    public ImageNotFoundException(String image, String detail, Throwable cause) {
        super("image not found: " + image + (detail == null || detail.isBlank() ? "" : " (" + detail + ")"), cause);
        this.image = image;
    }

    public ImageNotFoundException(String image) {
        this(image, null, null);
    }

    public String image() {
        return image;
    }
}
