// The one translation unit of mv_test_pch, the target whose precompiled
// GoogleTest/GoogleMock header every test binary reuses (tests/CMakeLists.txt).
