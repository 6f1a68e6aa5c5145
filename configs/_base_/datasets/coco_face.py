# The 5 face keypoints of COCO (data/coco-mini-face), as mmpose metainfo:
# the names and ids (0..K-1, the order of the annotations' keypoints), each
# keypoint's mirror image (`swap`, for flip augmentation and flip test), the
# skeleton (drawing only), the loss weights and the OKS sigmas (COCO's
# values for these keypoints; evaluation uses them).
dataset_info = dict(
    dataset_name='coco_face',
    paper_info=dict(
        author='Lin, Tsung-Yi and Maire, Michael and others',
        title='Microsoft coco: Common objects in context',
        container='European conference on computer vision',
        year='2014',
        homepage='http://cocodataset.org/',
    ),
    keypoint_info={
        0: dict(name='nose', id=0, color=[255, 64, 64], type='upper', swap=''),
        1: dict(
            name='left_eye',
            id=1,
            color=[64, 255, 64],
            type='upper',
            swap='right_eye',
        ),
        2: dict(
            name='right_eye',
            id=2,
            color=[64, 128, 255],
            type='upper',
            swap='left_eye',
        ),
        3: dict(
            name='left_ear',
            id=3,
            color=[64, 255, 64],
            type='upper',
            swap='right_ear',
        ),
        4: dict(
            name='right_ear',
            id=4,
            color=[64, 128, 255],
            type='upper',
            swap='left_ear',
        ),
    },
    skeleton_info={
        0: dict(link=('nose', 'left_eye'), id=0, color=[64, 255, 64]),
        1: dict(link=('nose', 'right_eye'), id=1, color=[64, 128, 255]),
        2: dict(link=('left_eye', 'right_eye'), id=2, color=[255, 64, 64]),
        3: dict(link=('left_eye', 'left_ear'), id=3, color=[64, 255, 64]),
        4: dict(link=('right_eye', 'right_ear'), id=4, color=[64, 128, 255]),
    },
    joint_weights=[1.0, 1.0, 1.0, 1.0, 1.0],
    sigmas=[0.026, 0.025, 0.025, 0.035, 0.035],
)
