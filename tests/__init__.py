"""The test suite; its folders mirror the package's flow (see conftest.py for the markers)."""
