"""Only here to tag the wheel for its platform: the package is pure Python, but it carries
libsecateur.so, so the wheel is py3-none-linux_x86_64 rather than py3-none-any. Metadata is in
pyproject.toml."""

from setuptools import setup

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70
    from wheel.bdist_wheel import bdist_wheel


class PlatformWheel(bdist_wheel):
    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False  # a native library is inside

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(cmdclass={"bdist_wheel": PlatformWheel})
