package scan

import "testing"

func TestClassifyImport(t *testing.T) {
	tests := []struct {
		module, name string
		want         Safety
	}{
		// What real checkpoints need.
		{"collections", "OrderedDict", Innocuous},
		{"torch._utils", "_rebuild_tensor_v2", Innocuous},
		{"torch._utils", "_rebuild_parameter", Innocuous},
		{"torch._tensor", "_rebuild_from_type_v2", Innocuous},
		{"torch.nn.parameter", "Parameter", Innocuous},
		{"torch", "FloatStorage", Innocuous},
		{"torch", "BFloat16Storage", Innocuous},
		{"torch.cuda", "HalfStorage", Innocuous},
		{"torch", "float16", Innocuous},
		{"torch", "device", Innocuous},
		{"torch", "Size", Innocuous},
		{"numpy.core.multiarray", "_reconstruct", Innocuous},
		{"numpy._core.multiarray", "_reconstruct", Innocuous},
		{"numpy.core.multiarray", "scalar", Innocuous},
		{"numpy", "ndarray", Innocuous},
		{"numpy", "dtype", Innocuous},
		{"_codecs", "encode", Innocuous},
		{"builtins", "set", Innocuous},
		{"__builtin__", "set", Innocuous}, // protocol 2 name
		{"joblib.numpy_pickle", "NumpyArrayWrapper", Innocuous},

		// Code execution, reflection, processes, files, network.
		{"builtins", "eval", Dangerous},
		{"builtins", "exec", Dangerous},
		{"builtins", "compile", Dangerous},
		{"builtins", "getattr", Dangerous},
		{"builtins", "setattr", Dangerous},
		{"builtins", "__import__", Dangerous},
		{"builtins", "open", Dangerous},
		{"builtins", "breakpoint", Dangerous},
		{"builtins", "globals", Dangerous},
		{"__builtin__", "eval", Dangerous},
		{"__builtin__", "reduce", Dangerous}, // maps to functools.reduce
		{"commands", "getoutput", Dangerous}, // maps to subprocess
		{"os", "system", Dangerous},
		{"os.path", "join", Dangerous},
		{"os", "path.join", Dangerous},
		{"posix", "system", Dangerous},
		{"nt", "system", Dangerous},
		{"posixpath", "join", Dangerous},
		{"subprocess", "Popen", Dangerous},
		{"sys", "modules", Dangerous},
		{"runpy", "_run_code", Dangerous},
		{"pip", "main", Dangerous},
		{"pip._internal.cli.main", "main", Dangerous},
		{"importlib", "import_module", Dangerous},
		{"pkgutil", "resolve_name", Dangerous},
		{"operator", "attrgetter", Dangerous},
		{"operator", "methodcaller", Dangerous},
		{"functools", "partial", Dangerous},
		{"pickle", "loads", Dangerous},
		{"_pickle", "loads", Dangerous},
		{"dill", "loads", Dangerous},
		{"marshal", "loads", Dangerous},
		{"types", "CodeType", Dangerous},
		{"types", "FunctionType", Dangerous},
		{"ctypes", "CDLL", Dangerous},
		{"socket", "create_connection", Dangerous},
		{"urllib.request", "urlopen", Dangerous},
		{"requests.api", "get", Dangerous},
		{"webbrowser", "open", Dangerous},
		{"shutil", "rmtree", Dangerous},
		{"io", "FileIO", Dangerous},
		{"_io", "FileIO", Dangerous},
		{"logging", "FileHandler", Dangerous},
		{"torch", "load", Dangerous},
		{"torch.serialization", "load", Dangerous},
		{"torch.storage", "_load_from_bytes", Dangerous},
		{"torch", "jit.load", Dangerous},
		{"torch._inductor.codecache", "compile_file", Dangerous},
		{"numpy", "load", Dangerous},
		{"numpy.f2py", "compile", Dangerous},
		{"numpy.testing._private.utils", "runstring", Dangerous},
		{"pandas", "read_pickle", Dangerous},
		{"pandas.io.pickle", "read_pickle", Dangerous},
		{"joblib", "load", Dangerous},
		{"asyncio", "run", Dangerous},
		{"threading", "Thread", Dangerous},

		// Dunders anywhere.
		{"collections", "OrderedDict.__init__", Dangerous},
		{"builtins", "object.__subclasses__", Dangerous},
		{"torch._utils", "__globals__", Dangerous},
		{"__builtins__", "eval", Dangerous},
		{"x.__main__", "f", Dangerous},

		// Everything else, look-alikes and tricks included.
		{"os_utils", "run", Suspicious},
		{"torchvision.models.resnet", "ResNet", Suspicious},
		{"collections", "OrderedDict ", Suspicious},
		{"collections ", "OrderedDict", Suspicious},
		{"collections", "OrderedDict\n", Suspicious},
		{"ｃｏｌｌｅｃｔｉｏｎｓ", "OrderedDict", Suspicious},
		{"os ", "system", Suspicious},
		{"builtins\n", "eval", Suspicious},
		{"torch", "_utils._rebuild_tensor_v2", Suspicious}, // not the exact pair
		{"__main__", "MyModel", Suspicious},
		{"copyreg", "_reconstructor", Suspicious},
		{"argparse", "Namespace", Suspicious},
		{"", "x", Suspicious},
	}
	for _, tt := range tests {
		t.Run(tt.module+"."+tt.name, func(t *testing.T) {
			if got := ClassifyImport(tt.module, tt.name); got != tt.want {
				_, why := classifyImport(tt.module, tt.name)
				t.Errorf("ClassifyImport(%q, %q) = %s (%s), want %s", tt.module, tt.name, got, why, tt.want)
			}
		})
	}
}
