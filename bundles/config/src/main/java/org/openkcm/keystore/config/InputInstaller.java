package org.openkcm.keystore.config;

import java.io.File;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.felix.fileinstall.ArtifactInstaller;

/**
 * The FileInstall installer of config.yaml and the environment file: it handles exactly these
 * files (absolute, normalized paths) and, whatever FileInstall reports about them (installed,
 * updated, uninstalled), asks for the inputs to be read again. It does the reading nowhere
 * itself: FileInstall calls it on its watcher thread, which must not wait for a reconcile.
 * <p>
 * Loaded only when the FileInstall API is wired to this bundle (the import is optional).
 */
final class InputInstaller implements ArtifactInstaller {

    private final Set<Path> files;
    private final Runnable changed;

    InputInstaller(Set<Path> files, Runnable changed) {
        this.files = files.stream().map(Watchers::normalized).collect(Collectors.toUnmodifiableSet());
        this.changed = changed;
    }

    @Override
    public boolean canHandle(File artifact) {
        return files.contains(Watchers.normalized(artifact.toPath()));
    }

    @Override
    public void install(File artifact) {
        changed.run();
    }

    @Override
    public void update(File artifact) {
        changed.run();
    }

    @Override
    public void uninstall(File artifact) {
        changed.run();
    }

    @Override
    public String toString() {
        return "openkcm config.yaml installer " + files;
    }
}
