from .fuse_conv_bn import fuse_conv_bn
from .resample_maps import resample_maps
from .upsample_maps import upsample_maps_2x

__all__ = ['fuse_conv_bn', 'resample_maps', 'upsample_maps_2x']
