from .fuse_conv_bn import fuse_conv_bn
from .resample_maps import resample_maps

__all__ = ['fuse_conv_bn', 'resample_maps']
