package sdk

import (
	"os"
	"runtime"
	"testing"
)

func TestAPluginRunsOnOneProcessorUnlessItsEnvironmentSetsGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))

	t.Setenv("GOMAXPROCS", "")
	runtime.GOMAXPROCS(3)
	oneProcessorUnlessSet() // set, even if empty: the operator's choice stands
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Fatalf("GOMAXPROCS set in the environment: want the running value 3 kept, got %d", got)
	}

	unsetenv(t, "GOMAXPROCS")
	oneProcessorUnlessSet()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS not in the environment: want 1, got %d", got)
	}
}

// unsetenv removes name for the test; t.Setenv first, so the old value is back afterwards.
func unsetenv(t *testing.T, name string) {
	t.Setenv(name, "")
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}
