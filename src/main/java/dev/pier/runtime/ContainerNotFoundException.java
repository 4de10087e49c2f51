package dev.pier.runtime;

/** The engine has no container with the given id or name. */
public final class ContainerNotFoundException extends ContainerRuntimeException {
    private final String container;

    public ContainerNotFoundException(String container, Throwable cause) {
        super("no such container: " + container, cause);
        this.container = container;
    }

    public ContainerNotFoundException(String container) {
        this(container, null);
    }

    /** The id or name that was asked for. */
    public String container() {
        return container;
    }
}
